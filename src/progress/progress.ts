/**
 * The public shapes of the progress tracker: what `run.progress$` and `trackProgress` emit, and their options.
 */
import type { Clock } from '../machine/clock.js';
import type { StepPhase } from '../machine/step-types.js';
import type { TokenUsage } from '../model/agent.js';
import type { RunStatus } from '../persistence/types.js';
import type { DurationHistory } from './history.js';

/**
 * Where one step is. `pending` steps have not started; the others have.
 *
 * @example
 * ```ts
 * const finished = (s: StepStatus) => s === 'done' || s === 'failed' || s === 'skipped' || s === 'cancelled';
 * ```
 */
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'cancelled';

/**
 * What a step is: an agent `step`, a `wait` for an event, one `item` of a map, a child `workflow` step, or the
 * `compensation` of a finished step (its path ends in `/compensate`).
 *
 * @example
 * ```ts
 * const items = progress.steps.filter((s) => s.kind === 'item');
 * ```
 */
export type StepKind = 'step' | 'wait' | 'item' | 'workflow' | 'compensation';

/**
 * One step as a {@link Progress} shows it.
 *
 * @example
 * ```ts
 * for (const s of progress.steps) console.log(s.path, s.status, s.attempt, s.expectedMs);
 * ```
 */
export interface StepProgress {
  /** The step path: `name`, `child/name`, `map[3]`, `name/compensate`. */
  readonly path: string;
  /** What the step is: an agent step, a wait, a map item, a child workflow or a compensation. */
  readonly kind: StepKind;
  /** Where the step is: `pending` until it starts, then `running` until it ends in one of the other statuses. */
  readonly status: StepStatus;
  /** Where a running step of the engine is: `running`, `backoff`, `escalated`, `supervising`. */
  readonly phase?: StepPhase;
  /** Attempts made in all (0 while pending). */
  readonly attempt: number;
  /** The agent now in use, when known. */
  readonly agent?: string;
  /** When it started (the clock's epoch ms). */
  readonly startedAt?: number;
  /** When it ended. */
  readonly endedAt?: number;
  /** Why it failed, was skipped or was cancelled. */
  readonly error?: string;
  /** How long the step is expected to take in all (history, else `expectedMs`, else the default). */
  readonly expectedMs?: number;
  /** Tokens its attempts reported so far (LLM agents, `ctx.report`), if any. */
  readonly usage?: TokenUsage;
}

/**
 * How many steps are in each status. Pending items of a running map count here but are not listed.
 *
 * @example
 * ```ts
 * const { done, running, pending, failed } = progress.counts;
 * ```
 */
export interface ProgressCounts {
  /** Steps that finished with a result. */
  readonly done: number;
  /** Steps started and not ended yet (attempting, backing off, waiting, escalated). */
  readonly running: number;
  /**
   * Steps not started yet that the run is expected to run, the unlisted pending items of running maps included. A
   * branch not decided yet counts its arms weighted as the ETA weighs them (rounded), not all of them summed: so the
   * count does not drop by every arm not taken when the branch decides, and it may be fewer than the listed steps.
   */
  readonly pending: number;
  /** Steps that failed. */
  readonly failed: number;
  /** Steps the workflow skipped: failed with `onError: 'skip'`, or waits timed out with `onTimeout: 'skip'`. */
  readonly skipped: number;
  /** Steps stopped before they ended, as when their run was cancelled. */
  readonly cancelled: number;
}

/**
 * Something a run waits on from the outside world, as {@link ProgressEta.waitingOn} lists it.
 *
 * @example
 * ```ts
 * const w: ProgressWaitingOn = { kind: 'event', path: 'approve', event: 'approve', deadline: 1_795_550_000_000 };
 * ```
 */
export interface ProgressWaitingOn {
  /**
   * `event`: a `waitFor` step, or a state of a hand-written machine that waits for an event (see
   * docs/handwritten.md#waiting); `human`: a step escalated to a person, waiting for a decision; `retry`: a step
   * backing off before its next attempt (the run stays `running`).
   */
  readonly kind: 'event' | 'human' | 'retry';
  /** The waiting step's path; for a hand-written state without `meta.flowstate`, its state path (`order.review`). */
  readonly path: string;
  /** The event type it waits for: a `waitFor`'s, or a hand-written state's when it takes one only. */
  readonly event?: string;
  /**
   * When the wait ends (the clock's epoch ms): a `waitFor`'s timeout and an escalation's `timeoutMs` if no event or
   * decision comes first, a backoff's next attempt. Absent when it has none the tracker knows (a hand-written
   * state's `after` is not read).
   */
  readonly deadline?: number;
}

/**
 * When the run should end: the critical path of what is left, with a range from the history's quantiles.
 *
 * @example
 * ```ts
 * console.log(`done in ${progress.eta.remainingMs} ms (${progress.eta.low} to ${progress.eta.high})`);
 * ```
 */
export interface ProgressEta {
  /** The best estimate of the time left, in ms. */
  readonly remainingMs: number;
  /** `at + remainingMs`, as the clock's epoch ms. */
  readonly finishAt: number;
  /** An optimistic time left (the low quantile of every step's history), in ms. */
  readonly low: number;
  /** A pessimistic time left (the high quantile), in ms. */
  readonly high: number;
  /**
   * What the run waits on now (events, decisions, retries' backoffs), with their deadlines; absent while it waits on
   * nothing. The times above count an event's wait as its history tells (nothing without history), up to its
   * deadline in `high`, a decision's as nothing (up to its deadline in `high`), a backoff's until its deadline.
   */
  readonly waitingOn?: readonly ProgressWaitingOn[];
}

/**
 * The state of one run at one moment, as `run.progress$` emits it.
 *
 * @example
 * ```ts
 * run.progress$.subscribe((p: Progress) => console.log(p.status, `${p.percent}%`, p.eta.finishAt));
 * ```
 */
export interface Progress {
  /** The workflow definition's id (the machine id for a hand-written machine). */
  readonly workflowId: string;
  /** The run id (the machine context's `workflowId` for a compiled workflow, else the actor's id). */
  readonly runId: string;
  /**
   * While the run is active, `waiting` when a `waitFor` step or an escalation awaits an answer, else `running`;
   * once it has ended, how it ended.
   */
  readonly status: RunStatus;
  /** When this progress was computed (the clock's epoch ms). */
  readonly at: number;
  /**
   * Every step that started (in the order they started), then the steps still ahead (in plan order). A branch
   * not yet decided lists the steps of all its arms (`counts.pending` counts them weighted); once decided, the arms
   * not taken drop out.
   */
  readonly steps: readonly StepProgress[];
  /** How many steps are in each status. */
  readonly counts: ProgressCounts;
  /**
   * The share of the run's own work already done, `worked / (worked + left)`, from 0 to 100: `worked` is the time
   * elapsed but for the time the run was on hold (waiting for an event, a decision or a retry's backoff with nothing
   * of its own under way), `left` is `eta.remainingMs` but for the time it expects such waits to take. So it holds
   * while the run waits, and resumes from there once the event, decision or retry comes. It never goes backwards
   * (a retry or a slower branch holds it where it was until time catches up), stays below 100 while the run is
   * active, and is 100 once the run is done.
   */
  readonly percent: number;
  /** Time since the run started, in ms. */
  readonly elapsedMs: number;
  /** When the run should end; every time left is 0 once it has ended. */
  readonly eta: ProgressEta;
}

/**
 * Options of {@link trackProgress}; a run of an engine uses the engine's.
 *
 * @example
 * ```ts
 * trackProgress(actor, { history, throttleMs: 250, tickMs: 1000, defaultStepMs: 2000 });
 * ```
 */
export interface TrackProgressOptions {
  /** Where step durations, branch arms and loop rounds are learned from and recorded to. @default none: priors only */
  readonly history?: DurationHistory;
  /** Emit at most once per this many ms (a failure and the final state are never held back). @default 100 */
  readonly throttleMs?: number;
  /** Also emit every this many ms while the run is active, so a long step shows time passing. @default off */
  readonly tickMs?: number;
  /**
   * The time `at`, `startedAt` and `elapsedMs` are read from, and the timers of `throttleMs` and `tickMs` run on.
   * @default the system clock
   */
  readonly clock?: Clock;
  /** The duration assumed for a step with neither history nor `expectedMs`. @default 1000 */
  readonly defaultStepMs?: number;
  /** When the run started, if it started before tracking did. @default when tracking began */
  readonly startedAt?: number;
  /**
   * The `workflowId` the progress reports, and the workflow `history` is read and recorded under.
   * @default the machine id
   */
  readonly workflowId?: string;
  /** The `runId` the progress reports. @default the machine context's `workflowId`, else the actor's id */
  readonly runId?: string;
}
