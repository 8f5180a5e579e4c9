/**
 * Turns a sequence of outcome events into a {@link WorkflowPath}: replays it on the machine (exactly, with the
 * pure `transition`, since graph states are merged by serialization) and names it from the outcomes and the
 * decisions the machine took on the way (branch arms, loop rounds), found in its microsteps.
 */
import type { AnyEventObject, AnyMachineSnapshot, StateValue } from 'xstate';
import type { Outcome, TargetKind } from '../dsl/outcomes.js';
import type { MachineContext, WorkflowOutcome } from '../machine/context.js';
import type { WorkflowModel } from './model.js';

/**
 * One step of a path: an outcome, the event it delivers, and where the workflow is after it. JSON-safe.
 *
 * @example
 * ```ts
 * path.steps.map((s) => `${s.label}: ${JSON.stringify(s.state)}`);
 * ```
 */
export interface PathStep {
  /** Readable: `scan done (critical)`, `review escalated: skip`, `approval expired`. */
  readonly label: string;
  /** The step path the outcome happens to: `scan`, `check[0]`, `scan/compensate`. */
  readonly step: string;
  /** What the outcome applies to (a step, a map item, a wait...); `event` for an event no modelled outcome makes. */
  readonly target: TargetKind | 'event';
  /** What happens to the step (`done`, `error`, `timeout`, `escalation`...); `{ kind: 'event' }` as for `target`. */
  readonly outcome: Outcome | { readonly kind: 'event' };
  /** The event the workflow machine receives. */
  readonly event: { readonly type: string; readonly [key: string]: unknown };
  /** Decisions the workflow took right after: `triage: when0`, `refine: round 2`. */
  readonly decisions: readonly string[];
  /** The machine's state value after the step. */
  readonly state: StateValue;
}

/**
 * Where a path ends.
 *
 * @example
 * ```ts
 * if (path.end.status === 'failed') console.log(path.end.error?.code);
 * ```
 */
export interface PathEnd {
  /** The run's outcome, or `active` for a path that stops before the run ends. */
  readonly status: 'done' | 'failed' | 'compensated' | 'cancelled' | 'active';
  /** The machine's state value at the end. */
  readonly state: StateValue;
  /** The workflow output (status `done`). */
  readonly output?: unknown;
  /** The error that ended the run: its code and step path (statuses `failed`, `compensated`). */
  readonly error?: { readonly code?: string; readonly stepPath?: string };
}

/**
 * A path through a workflow, from its start to an end: what {@link testWorkflow} runs. JSON-safe.
 *
 * @example
 * ```ts
 * writeFileSync('review.paths.json', JSON.stringify(workflowPaths(review), null, 2));
 * ```
 */
export interface WorkflowPath {
  /** Unique among the paths of a workflow: `scan done (critical) -> triage: when0 -> review done`. */
  readonly name: string;
  /** The id of the workflow (or hand-written machine) the path was generated from. */
  readonly workflow: string;
  /** The definition version the path was generated from. */
  readonly version: string;
  /** The workflow input the path starts with. */
  readonly input: unknown;
  /** Decisions taken at the start, before any step ends. */
  readonly decisions: readonly string[];
  /** The outcomes, in the order they happen, each with the state it leads to. */
  readonly steps: readonly PathStep[];
  /** Where the run stands after the last step. */
  readonly end: PathEnd;
}

/**
 * A replayed path, with the state nodes it visited (for coverage).
 *
 * @example
 * ```ts
 * const { path, visited } = replay(model, events);
 * ```
 */
export interface Replayed {
  readonly path: Omit<WorkflowPath, 'name' | 'workflow' | 'version'>;
  readonly visited: ReadonlySet<string>;
  readonly outcomes: ReadonlySet<string>;
}

/**
 * Replays events from the model's initial state.
 *
 * @example
 * ```ts
 * const { path } = replay(model, prefixes.get(key) ?? []);
 * ```
 */
export function replay(model: WorkflowModel, events: readonly AnyEventObject[]): Replayed {
  const visited = new Set<string>();
  const outcomes = new Set<string>();
  let active = new Set<string>();
  const decide = (microsteps: readonly AnyMachineSnapshot[]): string[] => {
    const tokens: string[] = [];
    for (const snapshot of microsteps) {
      const now = model.activeStates(snapshot);
      for (const id of now) {
        visited.add(id);
        if (active.has(id)) continue;
        const info = model.index.states.get(id);
        if (info?.kind === 'arm') tokens.push(info.name.replace('.', ': '));
        if (info?.kind === 'round') {
          const loop = info.name.replace(/ round$/, '');
          const round = (snapshot.context as MachineContext).iterations[loop] ?? 1;
          if (round > 1) tokens.push(`${loop}: round ${round}`);
        }
      }
      // A loop left at its bound without its condition holding: say so (it may go on, or fail there).
      for (const id of active) {
        const info = model.index.states.get(id);
        if (info?.kind === 'loop' && !now.includes(id) && model.exhausted(info.name, snapshot))
          tokens.push(`${info.name}: exhausted`);
      }
      active = new Set(now);
    }
    return tokens;
  };
  const decisions = decide(model.initialMicrosteps());
  let snapshot = model.initial;
  const steps: PathStep[] = [];
  for (const event of events) {
    const microsteps = model.microsteps(snapshot, event);
    snapshot = model.next(snapshot, event);
    const tokens = decide(microsteps);
    for (const id of model.activeStates(snapshot)) visited.add(id);
    const outcome = model.outcomeOf(event);
    if (outcome) outcomes.add(outcome.id);
    steps.push({
      label: outcome?.label ?? event.type,
      step: outcome?.step ?? stepOfEvent(event),
      target: outcome?.target ?? 'event',
      outcome: outcome?.outcome ?? { kind: 'event' },
      event: json(event),
      decisions: tokens,
      state: json(snapshot.value),
    });
  }
  return {
    path: { input: json(model.input.input), decisions, steps, end: endOf(snapshot) },
    visited,
    outcomes,
  };
}

/**
 * Names a path from its steps and decisions; ends other than `done` are named too.
 *
 * @example
 * ```ts
 * nameOf(replay(model, events).path); // 'scan done -> triage: when0 -> review done'
 * ```
 */
export function nameOf(path: Replayed['path']): string {
  const tokens = [...path.decisions];
  for (const step of path.steps) tokens.push(step.label, ...step.decisions);
  if (path.end.status !== 'done') tokens.push(path.end.status === 'active' ? 'stops' : path.end.status);
  return tokens.join(' -> ') || 'start';
}

function endOf(snapshot: AnyMachineSnapshot): PathEnd {
  const state = json(snapshot.value);
  if (snapshot.status !== 'done') return { status: 'active', state };
  const outcome = snapshot.output as WorkflowOutcome;
  if (outcome.status === 'done') return { status: 'done', state, output: json(outcome.output) };
  const { code, stepPath } = outcome.error;
  return {
    status: outcome.status,
    state,
    error: { ...(code !== undefined ? { code } : {}), ...(stepPath !== undefined ? { stepPath } : {}) },
  };
}

/** `xstate.done.actor.scan` -> `scan`; other events are named by their type. */
function stepOfEvent(event: AnyEventObject): string {
  const match = /^xstate\.(?:done|error)\.actor\.(.+)$/.exec(event.type);
  return match?.[1] ?? event.type;
}

function json<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
