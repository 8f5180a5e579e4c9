/**
 * Turns the XState inspection events of an engine's runs into run and step-attempt events, for metrics and
 * tracing. It reads only what the snapshots already carry (a step actor keeps every attempt with its start, end and
 * error), so it needs no hook inside the engine: it is one more `inspect` observer.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { isStepSnapshot } from '../machine/actor-tree.js';
import { isMapSnapshot } from '../machine/map-types.js';
import type { AttemptRecord } from '../machine/step-types.js';
import type { SerializedError } from '../model/errors.js';
import { objectSlot } from '../model/object-slot.js';

/** A run as the observer knows it: its id (the root actor's), its workflow id, its root actor. */
export interface ObservedRun {
  readonly id: string;
  readonly workflow: string;
  readonly root: AnyActorRef;
}

/** One attempt of a step, as a step actor's snapshot records it. */
export interface ObservedAttempt {
  readonly run: ObservedRun;
  /** The step path (`fetch`, `child/count`, `check[3]`). */
  readonly path: string;
  readonly record: AttemptRecord;
}

/** What an observer is told. Every callback is optional. */
export interface RunEvents {
  runStarted?(run: ObservedRun): void;
  /** `status` is the run's final status; `undefined` when its copy here stopped (handed over, engine closed). */
  runEnded?(run: ObservedRun, status: string | undefined, error: SerializedError | undefined): void;
  attemptStarted?(attempt: ObservedAttempt): void;
  /** `error` is the attempt's error; a step stopped mid-attempt ends it with `stopped: true`. */
  attemptEnded?(attempt: ObservedAttempt, stopped: boolean): void;
}

/** What is remembered of a step actor: how many of its attempts were seen start and end. */
interface StepSeen {
  started: number;
  ended: number;
  last: { path: string; history: readonly AttemptRecord[] } | undefined;
}

/**
 * An inspection observer calling `events` for run starts and ends and step attempts. `live()` lists the root actors
 * of the runs that have not ended, for gauges read at scrape time.
 *
 * @example
 * ```ts
 * const { inspect } = runObserver({ attemptEnded: (a) => console.log(a.path, a.record.error) });
 * createEngine({ inspect });
 * ```
 */
export function runObserver(events: RunEvents): {
  inspect: (event: InspectionEvent) => void;
  live: () => Iterable<ObservedRun>;
} {
  const runs = new Map<string, ObservedRun>();
  // What this observer saw of each step actor, in a slot of this observer's own on the actor: a long-lived `WeakMap`
  // keyed by step actors would keep every ended step's record through young-generation collections (objectSlot).
  const steps = objectSlot<StepSeen>('flowstate.observer.step');
  // The step actors of each live run that have not ended: attempts still open when the run ends are ended with it.
  const stepsOf = new Map<string, Set<StepSeen>>();

  // Registered when the root actor is created: its children start (and report) before its own first snapshot.
  const onCreated = (ref: AnyActorRef) => {
    const workflow = String((ref as unknown as { logic?: { id?: string } }).logic?.id ?? 'unknown');
    // The run id is the machine input's `workflowId` (a restored run gets it beside its snapshot).
    const input = (ref as unknown as { options?: { input?: { workflowId?: unknown } } }).options?.input;
    const id = typeof input?.workflowId === 'string' ? input.workflowId : ref.id;
    const run = { id, workflow, root: ref };
    runs.set(ref.sessionId, run);
    stepsOf.set(ref.sessionId, new Set());
    events.runStarted?.(run);
  };

  const onRoot = (ref: AnyActorRef, snapshot: { status?: string; output?: unknown; error?: unknown }) => {
    const run = runs.get(ref.sessionId);
    if (!run || snapshot.status === 'active') return;
    // A step's last snapshot is reported after its parent reacted to its end (the root may end first): wait for it.
    queueMicrotask(() => {
      runs.delete(ref.sessionId);
      for (const seen of stepsOf.get(ref.sessionId) ?? []) endOpen(seen, run, true);
      stepsOf.delete(ref.sessionId);
      if (snapshot.status === 'done') {
        const outcome = snapshot.output as { status?: string; error?: SerializedError } | undefined;
        events.runEnded?.(run, outcome?.status ?? 'done', outcome?.error);
      } else if (snapshot.status === 'error') {
        events.runEnded?.(run, 'failed', snapshot.error as SerializedError | undefined);
      } else events.runEnded?.(run, undefined, undefined);
    });
  };

  const onStep = (ref: AnyActorRef, snapshot: unknown, run: ObservedRun, rootId: string) => {
    if (!isStepSnapshot(snapshot)) return;
    let seen = steps.get(ref);
    if (!seen) {
      // A restored step's finished attempts happened before (maybe in another process): only new ones are seen.
      const history = snapshot.history;
      const open = history.at(-1)?.endedAt === undefined && snapshot.status === 'active' ? 1 : 0;
      const before = snapshot.restored ? history.length - open : 0;
      seen = { started: before, ended: before, last: undefined };
      steps.set(ref, seen);
      stepsOf.get(rootId)?.add(seen);
    }
    const path = snapshot.input.path;
    seen.last = { path, history: snapshot.history };
    snapshot.history.forEach((record, i) => {
      if (i >= seen.started) {
        seen.started = i + 1;
        events.attemptStarted?.({ run, path, record });
      }
      if (i >= seen.ended && record.endedAt !== undefined) {
        seen.ended = i + 1;
        events.attemptEnded?.({ run, path, record }, false);
      }
    });
    if (snapshot.status !== 'active') {
      endOpen(seen, run, snapshot.status === 'stopped');
      // Nothing is left open to end with the run: a map's items end by the thousand while their run goes on.
      stepsOf.get(rootId)?.delete(seen);
    }
  };

  /** A step actor that ended with an attempt still open (stopped, or done without an end recorded). */
  const endOpen = (seen: StepSeen, run: ObservedRun, stopped: boolean) => {
    const { last } = seen;
    if (!last) return;
    for (let i = seen.ended; i < seen.started; i++) {
      const record = last.history[i];
      if (record)
        events.attemptEnded?.({ run, path: last.path, record: { ...record, endedAt: Date.now() } }, stopped);
    }
    seen.ended = seen.started;
  };

  const inspect = (event: InspectionEvent) => {
    const ref = event.actorRef as AnyActorRef;
    const isRoot = (ref as { _parent?: unknown })._parent === undefined;
    if (event.type === '@xstate.actor' && isRoot) return onCreated(ref);
    if (event.type !== '@xstate.snapshot') return;
    if (isRoot) return onRoot(ref, event.snapshot as { status?: string });
    const run = runs.get(event.rootId);
    if (!run) return;
    // A map's items are hosted in its actor, with no inspection events of their own: its snapshot names them.
    if (isMapSnapshot(event.snapshot)) {
      for (const item of event.snapshot.touched)
        onStep(item as unknown as AnyActorRef, item.getSnapshot(), run, event.rootId);
    } else onStep(ref, event.snapshot, run, event.rootId);
  };
  return { inspect, live: () => runs.values() };
}
