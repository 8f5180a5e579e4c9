/**
 * How the engine and its runs use the tracker: the engine watches every run from before it starts (recording
 * durations into its history and writing the step log to its logger), and `run.progress$` / `run.events$` read
 * that watch, created lazily on first access.
 */
import type { Logger } from 'pino';
import type { AnyActorRef } from 'xstate';
import type { Clock } from '../machine/clock.js';
import { type DurationHistory, memoryHistory } from './history.js';
import type { StepView } from './views.js';
import { deferWatch, deferWatches, type WatchOptions, watchActor } from './watch.js';

/**
 * The progress options of an engine.
 *
 * @example
 * ```ts
 * runWatcher({ history: memoryHistory(), progress: { throttleMs: 50 } }, clock, logger);
 * ```
 */
export interface EngineProgressOptions {
  readonly history?: DurationHistory | undefined;
  readonly progress?: { readonly throttleMs?: number } | undefined;
}

/**
 * What the engine knows of a run when it launches it.
 *
 * @example
 * ```ts
 * watchRun(actor, { id: 'run-1', workflow: 'triage', createdAt: Date.now() });
 * ```
 */
export interface RunIdentityLike {
  readonly id: string;
  readonly workflow: string;
  readonly createdAt: number;
}

/** Where a run's ended steps are, for a watch set up late: the engine's learner. */
export interface EndedSteps {
  /** The steps of a run that ended before its watch; the learner stops keeping them for that run. */
  watched(runId: string): readonly StepView[];
}

/**
 * A run's watch until someone asks for it: the engine's options, and where the steps that ended are (the learner
 * while the run is active, then what it handed over at the end). Made when a watch is asked for, or when the run
 * ends.
 *
 * @example
 * ```ts
 * const pending = new PendingWatch(config, identity, learner);
 * pending.keep(learner.forget(identity.id)); // when the run ends
 * ```
 */
class PendingWatch {
  private kept: (() => readonly StepView[]) | undefined;

  constructor(
    private readonly config: Omit<WatchOptions, 'ended' | 'workflowId' | 'runId' | 'startedAt'>,
    private readonly identity: RunIdentityLike,
    private readonly steps: EndedSteps,
  ) {}

  /** The run ended: its ended steps are these from now on. */
  keep(steps: () => readonly StepView[]): void {
    this.kept = steps;
  }

  /** The options of the run's watch, when it is set up. */
  options(): WatchOptions {
    const { identity } = this;
    return {
      ...this.config,
      ended: this.kept ? this.kept() : this.steps.watched(identity.id),
      workflowId: identity.workflow,
      runId: identity.id,
      startedAt: identity.createdAt,
    };
  }
}

/**
 * How an engine watches its runs, with its history (a shared {@link memoryHistory} by default), clock, logger and
 * throttle: from the start when the logger writes step lines, else on demand (the first read of `progress$` or
 * `events$`, or `trackProgress(run.actor)`). The watch only reads the history: engine runs learn by themselves.
 *
 * A run watched on demand costs nothing until then: the engine's machines are registered once
 * ({@link deferWatches}), and a watch asked for finds its run through `runOf`. A run that ended keeps a
 * {@link PendingWatch} (through {@link deferWatch}) with the steps it ended with.
 *
 * @example
 * ```ts
 * const watcher = new RunWatcher(options, clock, logger, learner, (actor) => identities.get(actor));
 * watcher.launched(actor, identity, false);
 * actor.start();
 * ```
 */
export class RunWatcher {
  private readonly config: Omit<WatchOptions, 'ended' | 'workflowId' | 'runId' | 'startedAt'>;
  /** The pending watch of a live run of the engine, found by its root actor (one function for all its runs). */
  private readonly find: (actor: AnyActorRef) => PendingWatch | undefined;

  constructor(
    options: EngineProgressOptions,
    clock: Clock,
    logger: Logger,
    private readonly steps: EndedSteps,
    /** The engine's live run whose root actor this is, if any. */
    runOf: (actor: AnyActorRef) => RunIdentityLike | undefined,
  ) {
    this.config = {
      clock,
      history: options.history ?? memoryHistory(),
      logger,
      throttleMs: options.progress?.throttleMs,
      learn: false,
    };
    this.find = (actor) => {
      const identity = runOf(actor);
      return identity ? new PendingWatch(this.config, identity, steps) : undefined;
    };
  }

  /** A run's actor is created: watched from now if `fromStart`, else when someone asks. */
  launched(actor: AnyActorRef, identity: RunIdentityLike, fromStart: boolean): void {
    if (fromStart) {
      watchActor(actor, new PendingWatch(this.config, identity, this.steps).options());
      return;
    }
    deferWatches((actor as { logic?: object }).logic, this.find);
  }

  /** A run's actor ended: a watch asked for later lists `steps` as the steps that ended. */
  ended(actor: AnyActorRef, identity: RunIdentityLike, steps: () => readonly StepView[]): void {
    const pending = new PendingWatch(this.config, identity, this.steps);
    pending.keep(steps);
    deferWatch(actor, pending);
  }
}
