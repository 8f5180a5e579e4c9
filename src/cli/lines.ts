/**
 * Live progress lines for the CLI, from XState inspection events only: step actors' snapshots, told as the step log
 * (`progress/events.ts`) tells them and printed here, and workflow machines' snapshots (active branch arm, loop
 * round). Agents print nothing. A fuller tracker with an ETA belongs in `src/progress/`; this stays a line printer.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { isStepSnapshot } from '../machine/actor-tree.js';
import { isMapSnapshot } from '../machine/map-types.js';
import type { StepSnapshot } from '../machine/step-types.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { type StepLogEvent, stepEvents } from '../progress/events.js';
import { armNames } from './names.js';

/** Options of {@link progressLines}. */
export interface ProgressLinesOptions {
  /** The definition being run, to name a branch's arms by their guard. */
  readonly definition: AnyWorkflowDefinition;
  /** Receives each line, without a trailing newline. */
  readonly write: (line: string) => void;
  /** @default Date.now (the engine's clock, so durations match the snapshots' timestamps) */
  readonly now?: () => number;
}

/** Counts kept while printing, for the closing summary. */
export interface ProgressStats {
  /** Step actors that finished `done`. */
  readonly stepsDone: number;
  /** Backoffs scheduled (each is one retry). */
  readonly retries: number;
}

/** An inspection observer (pass it as the engine's `inspect` option) and the counts it kept. */
export interface ProgressLines {
  readonly inspect: (event: InspectionEvent) => void;
  stats(): ProgressStats;
}

interface MachineView {
  readonly context?: {
    readonly pathPrefix?: unknown;
    readonly iterations?: Readonly<Record<string, number>>;
  };
  readonly getMeta?: () => Record<string, unknown>;
}

type FlowMeta = { kind?: unknown; branch?: unknown; arm?: unknown; name?: unknown; maxIterations?: unknown };

/**
 * Prints one line per step event worth seeing: `▶ step` when a step actor starts (or starts another attempt),
 * `↻ step ... retry 2 in 100 ms` when it backs off, `⚑` when it escalates, `✓ step 120 ms` / `✗ step: why` when it
 * ends; and `⑂ branch → arm` and `↺ loop round n/max` from the workflow machine's active states.
 */
export function progressLines(options: ProgressLinesOptions): ProgressLines {
  const { write } = options;
  const now = options.now ?? Date.now;
  const steps = new WeakMap<object, StepSnapshot>();
  const machines = new WeakMap<object, Set<string>>();
  const arms = armNames(options.definition);
  let stepsDone = 0;
  let retries = 0;

  /** The line of one step event, `undefined` for events told by the next one (an attempt's failure) or not shown. */
  const line = (
    e: StepLogEvent,
    s: StepSnapshot,
    prev: StepSnapshot | undefined,
    why: string,
  ): string | undefined => {
    const started = (agent: string | undefined) => {
      const attempt = e.attempt > 1 ? ` attempt ${e.attempt}` : '';
      const fallback = agent !== undefined && agent !== s.input.agent ? ` with fallback '${agent}'` : '';
      return `  ▶ ${e.path}${attempt}${fallback}`;
    };
    switch (e.type) {
      case 'started':
        return started(e.agent);
      case 'retry-scheduled':
        // Straight to the fallback agent, or the same agent again after a backoff.
        if (prev !== undefined && e.agent !== prev.agent) return started(e.agent);
        retries++;
        return `  ↻ ${e.path} attempt ${e.attempt} failed${why}; retry ${e.attempt + 1} in ${e.delayMs} ms`;
      case 'escalated': {
        const reason = e.reason === undefined ? '' : ` (${e.reason})`;
        const waiting = e.to === 'human' ? 'waiting for a human decision' : `asking '${e.to}'`;
        return `  ⚑ ${e.path} escalated${reason}; ${waiting}`;
      }
      case 'resolved':
        return e.action === 'retry' ? started(s.agent) : undefined;
      case 'done':
        stepsDone++;
        return `  ✓ ${e.path} ${e.durationMs} ms${doneNotes(e.attempt, e.usage?.totalTokens)}`;
      case 'failed':
        return `  ✗ ${e.path}: ${e.reason}`;
      case 'cancelled':
        return `  ■ ${e.path} stopped`;
      default:
        return undefined;
    }
  };

  const onStep = (s: StepSnapshot, prev: StepSnapshot | undefined): void => {
    let why = '';
    for (const e of stepEvents(prev, s, now(), { everyAttempt: true })) {
      if (e.type === 'attempt-failed' || (e.type === 'timed-out' && e.of === 'attempt'))
        why = e.reason === undefined ? '' : ` (${e.reason})`;
      const text = line(e, s, prev, why);
      if (text !== undefined) write(text);
    }
  };

  const onMachine = (actor: object, m: MachineView) => {
    if (typeof m.getMeta !== 'function') return;
    const prefix = typeof m.context?.pathPrefix === 'string' ? m.context.pathPrefix : '';
    const before = machines.get(actor) ?? new Set<string>();
    const active = new Set<string>();
    for (const meta of Object.values(m.getMeta())) {
      const f = (meta as { flowstate?: FlowMeta } | undefined)?.flowstate;
      if (f?.kind === 'arm' && typeof f.branch === 'string') {
        const key = `arm:${f.branch}:${String(f.arm)}`;
        active.add(key);
        if (!before.has(key)) {
          write(`  ⑂ ${prefix}${f.branch} → ${arms.get(`${f.branch}:${String(f.arm)}`) ?? String(f.arm)}`);
        }
      } else if (f?.kind === 'loop' && typeof f.name === 'string') {
        const round = m.context?.iterations?.[f.name] ?? 0;
        const key = `loop:${f.name}:${round}`;
        active.add(key);
        if (round > 0 && !before.has(key)) {
          write(`  ↺ ${prefix}${f.name} round ${round}/${String(f.maxIterations)}`);
        }
      }
    }
    machines.set(actor, active);
  };

  const observe = (actor: object, snapshot: unknown) => {
    if (isStepSnapshot(snapshot)) {
      onStep(snapshot, steps.get(actor));
      steps.set(actor, snapshot);
    } else if (isMapSnapshot(snapshot)) {
      // A map's items are hosted in its actor: its snapshot names the ones that moved.
      for (const item of snapshot.touched) observe(item, item.getSnapshot());
    } else if (typeof snapshot === 'object' && snapshot !== null) onMachine(actor, snapshot as MachineView);
  };

  const inspect = (event: InspectionEvent) => {
    if (event.type === '@xstate.snapshot') return observe(event.actorRef, event.snapshot);
    // A started actor's first snapshot comes with its `xstate.init` event, not as an `@xstate.snapshot`.
    if (event.type !== '@xstate.event' || event.event.type !== 'xstate.init') return;
    const actor = event.actorRef as AnyActorRef;
    const snapshot = actor.getSnapshot();
    if (!isStepSnapshot(snapshot)) return observe(actor, snapshot);
    // The parent already holds the state that started this step: print its branch arm or loop round first.
    const parent = event.sourceRef as AnyActorRef | undefined;
    if (parent) observe(parent, parent.getSnapshot());
    observe(actor, snapshot);
    // XState emits `@xstate.snapshot` only after the parent has reacted to a finished child (and started the
    // next step), so a subscription is what sees a step end before its successor starts. The error callback is
    // required: an observer without one makes XState report the step's failure as unhandled.
    const seen = () => observe(actor, actor.getSnapshot());
    actor.subscribe({ next: seen, error: seen });
  };

  return { inspect, stats: () => ({ stepsDone, retries }) };
}

/** What a done line adds: the attempts when more than one, and the tokens an LLM agent reported. */
function doneNotes(attempts: number, tokens: number | undefined): string {
  const notes = [
    ...(attempts > 1 ? [`${attempts} attempts`] : []),
    ...(tokens !== undefined ? [`${tokens} tokens`] : []),
  ];
  return notes.length > 0 ? ` (${notes.join(', ')})` : '';
}
