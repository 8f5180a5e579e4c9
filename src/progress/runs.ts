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
import { deferWatch, type WatchOptions, watchActor } from './watch.js';

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
 * while the run is active, then what it handed over at the end). One small object per run, no closures.
 *
 * @example
 * ```ts
 * const pending = watchRun(actor, identity, learner, { fromStart: false });
 * pending?.keep(learner.forget(identity.id)); // when the run ends
 * ```
 */
export class PendingWatch {
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
 * How an engine watches a run, with its history (a shared {@link memoryHistory} by default), clock, logger and
 * throttle: from the start when the logger writes step lines, else on demand (the first read of `progress$` or
 * `events$`, or `trackProgress(run.actor)`), through {@link deferWatch}. The watch only reads the history: engine
 * runs learn by themselves. Returns the pending watch of a run watched on demand.
 *
 * @example
 * ```ts
 * const watchRun = runWatcher(options, clock, logger);
 * const pending = watchRun(actor, identity, learner, { fromStart: false });
 * actor.start();
 * ```
 */
export function runWatcher(
  options: EngineProgressOptions,
  clock: Clock,
  logger: Logger,
): (
  actor: AnyActorRef,
  identity: RunIdentityLike,
  steps: EndedSteps,
  when: { readonly fromStart: boolean },
) => PendingWatch | undefined {
  const config = {
    clock,
    history: options.history ?? memoryHistory(),
    logger,
    throttleMs: options.progress?.throttleMs,
    learn: false,
  };
  return (actor, identity, steps, { fromStart }) => {
    const pending = new PendingWatch(config, identity, steps);
    if (fromStart) {
      watchActor(actor, pending.options());
      return undefined;
    }
    deferWatch(actor, pending);
    return pending;
  };
}
