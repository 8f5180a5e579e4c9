/**
 * What the parts of a run watch share: where it records (history, logger), the names it writes (workflow and run
 * ids), the step views, and the flags of what changed since the last signal. The run watch (watch.ts) extends it
 * with the subscriptions; its step part (watch-steps.ts) and machine part (watch-machine.ts) read and update this,
 * so they import this file rather than watch.ts, which imports them.
 */
import type { Logger } from 'pino';
import type { AnyActorRef, AnyStateMachine } from 'xstate';
import { type Clock, systemClock } from '../machine/clock.js';
import type { DurationHistory } from './history.js';
import type { StepView } from './views.js';

/**
 * How a watch is set up.
 *
 * @example
 * ```ts
 * watchActor(actor, { clock, history, logger, workflowId: 'triage', runId: 'run-1' });
 * ```
 */
export interface WatchOptions {
  readonly clock?: Clock;
  /** Where finished durations and decisions are recorded (and read by the ETA). */
  readonly history?: DurationHistory | undefined;
  /** Where step events are written, as structured lines. */
  readonly logger?: Logger | undefined;
  readonly workflowId?: string | undefined;
  readonly runId?: string | undefined;
  readonly startedAt?: number | undefined;
  /** The default throttle of progress streams over this watch. */
  readonly throttleMs?: number | undefined;
  /**
   * Whether this watch records durations and decisions into `history`. The engine's runs learn through their
   * compiled machines instead (their watch only reads), so it passes `false`. @default true
   */
  readonly learn?: boolean | undefined;
  /** Steps that ended before the watch was set up (the engine kept them), listed first. */
  readonly ended?: readonly StepView[] | undefined;
}

/**
 * The state a run watch's parts share, and the ways they record into it.
 *
 * @example
 * ```ts
 * watch.prior('scan', 2_000); // then watch.priors?.get('scan') === 2_000
 * ```
 */
export class WatchState {
  readonly clock: Clock;
  readonly history: DurationHistory | undefined;
  /** Where this watch records what it learns: the history, unless the run learns by itself. */
  private readonly learning: DurationHistory | undefined;
  readonly workflowId: string;
  readonly runId: string;
  /** Where step events are written. */
  readonly logger: Logger | undefined;
  /** Every step that started, by path, in the order they (last) started. */
  readonly steps = new Map<string, StepView>();
  /** `expectedMs` of steps by path (and `map[*]` for items), from the states' meta; created when first needed. */
  priors: Map<string, number> | undefined;
  /** Following step actors through every change (someone listens), not only their start and end. */
  protected full: boolean;
  /** Something changed since the last signal, and whether urgently (a failure, an escalation). */
  protected changed = false;
  protected urgent = false;

  constructor(root: AnyActorRef, options: WatchOptions) {
    this.clock = options.clock ?? systemClock;
    this.history = options.history;
    this.learning = options.learn === false ? undefined : options.history;
    const snapshot = root.getSnapshot() as { context?: { workflowId?: unknown }; machine?: AnyStateMachine };
    this.workflowId = options.workflowId ?? snapshot.machine?.id ?? root.id;
    const contextId = snapshot.context?.workflowId;
    this.runId = options.runId ?? (typeof contextId === 'string' ? contextId : root.id);
    this.logger = options.logger;
    this.full = options.logger?.isLevelEnabled('info') === true;
  }

  /** Whether the watch follows every step actor (someone listens, or the logger writes step lines). */
  get following(): boolean {
    return this.full;
  }

  /** Marks that something changed (urgently: a failure, an escalation), to signal once the snapshot is read. */
  touch(urgent = false): void {
    this.changed = true;
    if (urgent) this.urgent = true;
  }

  /** Records a finished duration, when this watch records at all. */
  record(path: string, ms: number): void {
    this.learning?.record(this.workflowId, path, ms);
  }

  recordChoice(path: string, choice: string): void {
    this.learning?.recordChoice(this.workflowId, path, choice);
  }

  /** Sets a step's `expectedMs` from its state's meta. */
  prior(path: string, expectedMs: number | undefined): void {
    if (expectedMs === undefined) return;
    this.priors ??= new Map();
    this.priors.set(path, expectedMs);
  }
}
