import { type AnyActorRef, type AnyEventObject, assign, cancel, raise, stopChild } from 'xstate';
import type { WorkflowNode } from '../model/definition.js';
import { failureOf } from '../model/errors.js';
import { skipResult, storeResult, update } from './actions.js';
import { MAX_TIMER_MS } from './clock.js';
import type { MachineContext } from './context.js';
import type { ErrorOf, FailRoute, NodeCompiler, StateConfig } from './node-compiler.js';

/** The id of a wait's delayed timeout event (what its exit cancels). */
const timeoutId = (name: string) => `flowstate.wait.${name}`;

/** Whether the id of an event XState scheduled is a wait's timeout (its deadline is in the snapshot). */
export function isWaitTimeout(id: unknown): boolean {
  return typeof id === 'string' && id.startsWith('flowstate.wait.');
}

/**
 * The events a wait times out on: the done event its deadline timer actor sent when waits had one (runs stored
 * then still have that actor, so both arrive as the same event). `rearm` marks a chunk of a wait longer than a
 * timer can wait at once (about 24.8 days): the wait arms again for what is left. Made once per compiled wait and
 * shared by its runs (frozen: nothing writes to an event): a waiting run would otherwise hold an event and its type
 * string of its own, about 70 bytes.
 */
function timeoutEvents(name: string): TimeoutEvents {
  const type = `xstate.done.actor.${name}`;
  return {
    type,
    fires: Object.freeze({ type, output: null }),
    rearms: Object.freeze({ type, output: null, rearm: true }),
  };
}

/** The timeout events of a wait: its event type, the event that times it out, and the one that arms it again. */
interface TimeoutEvents {
  readonly type: string;
  readonly fires: AnyEventObject;
  readonly rearms: AnyEventObject;
}

/**
 * Compiles a `waitFor`: a state that goes on with the event's payload, or times out at a deadline kept in the
 * context (`waits`), through a delayed event the machine schedules for itself (see {@link rearmWaits} for restores).
 */
export function waitState(
  compiler: NodeCompiler,
  node: Extract<WorkflowNode, { kind: 'wait' }>,
  next: string,
  fail: FailRoute,
): StateConfig {
  const { name, schema } = node;
  const clock = compiler.clock;
  const payloadOf = (event: AnyEventObject) => {
    const { type: _type, ...payload } = event;
    return payload;
  };
  compiler.guards[`${name}.payload`] = ({ event }) => !schema || schema.safeParse(payloadOf(event)).success;
  const timedOut: ErrorOf = (_e, c) =>
    failureOf('WAIT_TIMEOUT', `No '${node.event}' event within ${node.timeoutMs} ms`, {
      stepPath: c.pathPrefix + name,
    });
  const remaining = (context: MachineContext) => Math.max(0, (context.waits?.[name] ?? 0) - clock.now());
  const timeoutEvent = timeoutEvents(name);
  // The deadline is in the context (so a checkpoint stores it); the timeout is a delayed event of the machine
  // itself, which XState cancels at exit and when the actor stops, and which a restored run arms again.
  const arm = raise(
    ({ context }: { context: MachineContext }) =>
      remaining(context) > MAX_TIMER_MS ? timeoutEvent.rearms : timeoutEvent.fires,
    {
      id: timeoutId(name),
      delay: ({ context }: { context: MachineContext }) => Math.min(remaining(context), MAX_TIMER_MS),
    },
  );
  const timeout =
    node.onTimeout === 'skip'
      ? { target: next, actions: update(skipResult(name)) }
      : compiler.failure(compiler.onError(undefined), name, next, fail, timedOut);
  return {
    meta: { flowstate: { kind: 'wait', name, event: node.event, timeoutMs: node.timeoutMs } },
    entry: [
      assign(({ context }: { context: MachineContext }) => ({
        waits: { ...context.waits, [name]: clock.now() + node.timeoutMs },
      })),
      arm,
    ],
    exit: [
      // The wait began at its deadline minus its timeout, also across a restore. Exit actions run before the
      // transition's, so this is where the deadline is still there to read.
      ...compiler.learn((l, c, self, event) => {
        if (event.type !== node.event) return;
        const started = startedAt(c, self, name, node.timeoutMs);
        if (started !== undefined) l.finished(c.workflowId, c.pathPrefix + name, started, 'wait');
      }),
      cancel(timeoutId(name)),
      // A run stored when waits had a deadline timer actor: that actor goes with its wait.
      stopChild(name),
      assign(({ context }: { context: MachineContext }) => {
        const { [name]: _left, ...waits } = context.waits ?? {};
        return { waits: Object.keys(waits).length > 0 ? waits : undefined };
      }),
    ],
    on: {
      [node.event]: {
        guard: `${name}.payload`,
        target: next,
        actions: update(
          storeResult(name, false, (e) => (schema ? schema.parse(payloadOf(e)) : payloadOf(e))),
        ),
      },
      [timeoutEvent.type]: [
        { guard: ({ event }: { event: AnyEventObject }) => event.rearm === true, actions: arm },
        timeout,
      ],
    },
  };
}

/** When a wait started: its deadline (in the context, or in the timer actor of a run stored before) minus its timeout. */
function startedAt(
  c: MachineContext,
  self: AnyActorRef,
  name: string,
  timeoutMs: number,
): number | undefined {
  const deadline = c.waits?.[name];
  if (typeof deadline === 'number') return deadline - timeoutMs;
  const timer = self.getSnapshot().children[name]?.getSnapshot() as { deadline?: unknown } | undefined;
  return typeof timer?.deadline === 'number' ? timer.deadline - timeoutMs : undefined;
}

/** A machine actor as far as re-arming goes. */
interface MachineActorLike {
  getSnapshot(): { status?: string; context?: unknown; children?: Record<string, AnyActorRef | undefined> };
  readonly system: AnyActorRef['system'];
}

/**
 * Arms again the timeouts of the waits a restored run is in, for what is left of each (XState does not restore
 * delayed events, #5331): the root machine's and those of the child workflows below it. Call it once the restored
 * actor has started. Arming a wait twice replaces its timer.
 *
 * @example
 * ```ts
 * const actor = createActor(machine, { snapshot, input }).start();
 * rearmWaits(actor, clock);
 * ```
 */
export function rearmWaits(actor: AnyActorRef, clock: { now(): number }): void {
  const s = (actor as unknown as MachineActorLike).getSnapshot();
  if (s.status !== 'active') return;
  const waits = (s.context as MachineContext | undefined)?.waits;
  if (waits && typeof waits === 'object') {
    const scheduler = actor.system.scheduler;
    for (const [name, deadline] of Object.entries(waits)) {
      if (typeof deadline !== 'number') continue;
      const left = Math.max(0, deadline - clock.now());
      scheduler.cancel(actor, timeoutId(name));
      const events = timeoutEvents(name);
      scheduler.schedule(
        actor,
        actor,
        left > MAX_TIMER_MS ? events.rearms : events.fires,
        Math.min(left, MAX_TIMER_MS),
        timeoutId(name),
      );
    }
  }
  for (const child of Object.values(s.children ?? {})) if (child) rearmWaits(child, clock);
}
