/**
 * Live progress lines for the CLI, derived from XState inspection events only: step actors' snapshots (phase,
 * attempt, deadline) and workflow machines' snapshots (active branch arm, loop round). Agents print nothing.
 * A fuller tracker with an ETA belongs in `src/progress/`; this stays a plain line printer.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { isStepSnapshot } from '../machine/actor-tree.js';
import { backoffDelay } from '../machine/retry.js';
import type { StepSnapshot } from '../machine/step-types.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { walkNodes } from '../model/walk.js';

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

interface StepSeen {
  phase: StepSnapshot['phase'];
  status: StepSnapshot['status'];
  attempts: number;
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
 * Prints one line per thing worth seeing: `▶ step` when a step actor starts (or starts another attempt),
 * `↻ step ... retry 2 in 100 ms` when it backs off, `⚑` when it escalates, `✓ step 120 ms` / `✗ step: why` when it
 * ends, `⑂ branch → arm` and `↺ loop round n/max` from the workflow machine's active states.
 */
export function progressLines(options: ProgressLinesOptions): ProgressLines {
  const { write } = options;
  const now = options.now ?? Date.now;
  const steps = new WeakMap<object, StepSeen>();
  const machines = new WeakMap<object, Set<string>>();
  const arms = armLabels(options.definition);
  let stepsDone = 0;
  let retries = 0;

  const onStep = (s: StepSnapshot, seen: StepSeen | undefined): StepSeen => {
    const path = s.input.path;
    const next: StepSeen = { phase: s.phase, status: s.status, attempts: s.attempts };
    if (!seen) {
      write(`  ▶ ${path}${s.attempts > 1 ? ` attempt ${s.attempts}` : ''}`);
      return next;
    }
    if (s.status === 'done' && seen.status !== 'done') {
      stepsDone++;
      const tries = s.attempts > 1 ? ` (${s.attempts} attempts)` : '';
      write(`  ✓ ${path} ${now() - s.startedAt} ms${tries}`);
    } else if (s.status === 'error' && seen.status !== 'error') {
      write(`  ✗ ${path}: ${s.error.message}`);
    } else if (s.status === 'stopped' && seen.status === 'active') {
      write(`  ■ ${path} stopped`);
    } else if (s.status === 'active' && s.phase !== seen.phase) {
      const failed = s.history.at(-1)?.error?.message;
      const why = failed === undefined ? '' : ` (${failed})`;
      if (s.phase === 'backoff') {
        retries++;
        // The deadline is set a tick after the attempt's end time, so the measured gap can overshoot by a
        // millisecond; the policy's un-jittered delay bounds it (and is exact when jitter is 0).
        const measured = Math.max(0, (s.deadline ?? 0) - (s.history.at(-1)?.endedAt ?? now()));
        const delay = Math.min(
          measured,
          backoffDelay(s.input.retry, s.attempt, () => 0),
        );
        write(`  ↻ ${path} attempt ${s.attempt} failed${why}; retry ${s.attempt + 1} in ${delay} ms`);
      } else if (s.phase === 'running' && s.attempts > seen.attempts) {
        const fallback = s.agent !== s.input.agent ? ` with fallback '${s.agent}'` : '';
        write(`  ▶ ${path} attempt ${s.attempts}${fallback}`);
      } else if (s.phase === 'escalated') {
        write(`  ⚑ ${path} failed${why}; waiting for a human decision`);
      } else if (s.phase === 'supervising') {
        write(`  ⚑ ${path} failed${why}; asking '${s.input.escalate?.to ?? '?'}'`);
      }
    }
    return next;
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
    if (isStepSnapshot(snapshot)) steps.set(actor, onStep(snapshot, steps.get(actor)));
    else if (typeof snapshot === 'object' && snapshot !== null) onMachine(actor, snapshot as MachineView);
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

/** `branch:armIndex` → a readable arm name: the guard's name when it is one, else `arm n` or `otherwise`. */
function armLabels(definition: AnyWorkflowDefinition): Map<string, string> {
  const labels = new Map<string, string>();
  walkNodes(definition.spec.nodes, (node) => {
    if (node.kind !== 'branch') return;
    node.arms.forEach((arm, i) => {
      labels.set(`${node.name}:${i}`, typeof arm.when === 'string' ? `when ${arm.when}` : `arm ${i}`);
    });
    labels.set(`${node.name}:otherwise`, 'otherwise');
  });
  return labels;
}
