/**
 * One {@link Progress} from a run watch at a given time: step list and counts from the views, the ETA from a walk of
 * the remaining graph. `percent` is raw here; the stream keeps it monotonic.
 */
import { remainingOf } from './eta.js';
import { awaitsEvent } from './event-waits.js';
import { holdOf, type Waited } from './hold.js';
import type { EtaContext } from './live.js';
import type { PlanNode } from './plan.js';
import type { Progress, ProgressCounts, ProgressWaitingOn, StepKind, StepProgress } from './progress.js';
import type { Range } from './range.js';
import { historyKey, type StepView } from './views.js';
import type { RunWatch } from './watch.js';

/**
 * Settings of a computation.
 *
 * @example
 * ```ts
 * computeProgress(watch, { now: clock.now(), defaultStepMs: 1000 });
 * ```
 */
export interface ComputeSettings {
  readonly now: number;
  readonly defaultStepMs: number;
}

/**
 * The run's progress now, with a raw (possibly lower than before) percent.
 *
 * @example
 * ```ts
 * const progress = computeProgress(watchActor(actor), { now: Date.now(), defaultStepMs: 1000 });
 * ```
 */
export function computeProgress(watch: RunWatch, settings: ComputeSettings): Progress {
  const { now, defaultStepMs } = settings;
  const { history, workflowId } = watch;
  const pending: StepProgress[] = [];
  // The steps ahead the run is expected to run: an undecided branch counts as its arms weighted, not all of them
  // summed, so the count does not drop by every arm not taken when the branch decides.
  let expectedPending = 0;
  let pendingItems = 0;
  let outsideTime = false;
  const ctx: EtaContext = {
    now,
    defaultMs: defaultStepMs,
    estimate: (path) => history?.estimate(workflowId, path),
    choices: (path) => history?.choices(workflowId, path),
    step: (path) => {
      const view = watch.steps.get(path);
      return view?.status === 'running' ? view : undefined;
    },
    pending: (path, node, expected, share) => {
      if (watch.steps.has(path)) return;
      pending.push(pendingStep(path, node, expected));
      expectedPending += share;
    },
    pendingItems: (count) => {
      pendingItems += count;
    },
    outsideTime: () => {
      outsideTime = true;
    },
  };
  const root = watch.rootMachine();
  const active = !watch.ended && root !== undefined;
  const range: Range = active ? remainingOf(root, ctx) : [0, 0, 0];
  // The run's own work left: the ETA but for the time it expects waits to take (walked again only when it counted
  // some: a wait with history, a hand-written step state waiting for an event, a backoff).
  const ownMs =
    active && outsideTime
      ? Math.round(
          remainingOf(
            root,
            { now, defaultMs: defaultStepMs, estimate: ctx.estimate, choices: ctx.choices, step: ctx.step },
            { own: true },
          )[0],
        )
      : undefined;
  const waits: Waited[] = [];
  if (active) holdOf(root, watch, waits);
  const counts = {
    done: 0,
    running: 0,
    pending: Math.round(expectedPending) + pendingItems,
    failed: 0,
    skipped: 0,
    cancelled: 0,
  };
  const steps: StepProgress[] = [];
  let waiting = false;
  for (const view of watch.steps.values()) {
    count(counts, view.status);
    if (view.status === 'running' && (view.phase === 'escalated' || view.kind === 'wait')) waiting = true;
    steps.push(stepOf(view, expectedOf(watch, view, defaultStepMs)));
  }
  steps.push(...pending);
  // A state of the machine that waits for an outside event (a hand-written `on: { approve }`) is a wait too.
  if (!waiting && root && !watch.ended) waiting = awaitsEvent(root.plan.root, root.value);
  const end = watch.ended ? (watch.endedAt ?? now) : now;
  const elapsedMs = Math.max(0, end - watch.startedAt);
  const remainingMs = Math.round(range[0]);
  const status = watch.ended
    ? watch.status
    : waiting || waits.some((w) => w.kind !== 'retry')
      ? 'waiting'
      : 'running';
  // Work done and left: the time on hold counts in neither, so the percent holds while the run waits.
  const worked = Math.max(0, elapsedMs - watch.heldMs(end));
  const left = ownMs ?? remainingMs;
  let percent = 0;
  if (status === 'done') percent = 100;
  else if (!watch.ended && worked + left > 0) percent = Math.min(99.9, (100 * worked) / (worked + left));
  const eta = {
    remainingMs,
    finishAt: now + remainingMs,
    low: Math.round(range[1]),
    high: Math.round(range[2]),
  };
  return {
    workflowId,
    runId: watch.runId,
    status,
    at: now,
    steps,
    counts,
    percent: Math.round(percent * 10) / 10,
    elapsedMs,
    eta: waits.length > 0 ? { ...eta, waitingOn: waits.map(waitingOn) } : eta,
  };
}

/** What a wait shows, without when it began. */
function waitingOn({ since: _since, ...wait }: Waited): ProgressWaitingOn {
  return wait;
}

/** Counts a status (a switch: a keyed increment on a small object is slower, and this runs per step). */
function count(counts: Writable<ProgressCounts>, status: StepView['status']): void {
  if (status === 'done') counts.done++;
  else if (status === 'running') counts.running++;
  else if (status === 'failed') counts.failed++;
  else if (status === 'skipped') counts.skipped++;
  else counts.cancelled++;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

// Built field by field rather than with conditional spreads: this runs for every step at every emission.
function stepOf(view: StepView, expectedMs: number): StepProgress {
  const step: Writable<StepProgress> = {
    path: view.path,
    kind: view.kind,
    status: view.status,
    attempt: view.attempt,
    startedAt: view.startedAt,
    expectedMs: Math.round(expectedMs),
  };
  if (view.phase !== undefined && view.status === 'running') step.phase = view.phase;
  if (view.agent !== undefined) step.agent = view.agent;
  if (view.endedAt !== undefined) step.endedAt = view.endedAt;
  if (view.error !== undefined) step.error = view.error;
  if (view.usage !== undefined) step.usage = view.usage;
  return step;
}

function pendingStep(path: string, node: PlanNode, expected: Range): StepProgress {
  const meta = node.meta;
  const kind: StepKind = meta?.kind === 'wait' ? 'wait' : meta?.workflow !== undefined ? 'workflow' : 'step';
  const step: Writable<StepProgress> = {
    path,
    kind,
    status: 'pending',
    attempt: 0,
    expectedMs: Math.round(expected[0]),
  };
  if (meta?.agent !== undefined) step.agent = meta.agent;
  return step;
}

/** A started step's expected duration in all: history, else its state's `expectedMs`, else the default (0 for waits). */
function expectedOf(watch: RunWatch, view: StepView, defaultStepMs: number): number {
  const key = view.kind === 'item' ? historyKey(view.path) : view.path;
  const known = watch.history?.estimate(watch.workflowId, key)?.ms ?? watch.priors?.get(key);
  return known ?? (view.kind === 'wait' ? 0 : defaultStepMs);
}
