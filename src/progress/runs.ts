/**
 * How the engine and its runs use the tracker: the engine watches every run from before it starts (recording
 * durations into its history and writing the step log to its logger), and `run.progress$` / `run.events$` read
 * that watch, created lazily on first access.
 */
import type { Logger } from 'pino';
import type { Observable } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { Clock } from '../machine/clock.js';
import type { StepLogEvent } from './events.js';
import { type DurationHistory, memoryHistory } from './history.js';
import type { Progress } from './progress.js';
import { trackProgress, trackStepEvents } from './track.js';
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

/**
 * How an engine watches a run, with its history (a shared {@link memoryHistory} by default), clock, logger and
 * throttle: from the start when the logger writes step lines, else on demand (the first read of `progress$` or
 * `events$`, or `trackProgress(run.actor)`), through {@link deferWatch}. The watch only reads the history: engine
 * runs learn by themselves. `ended` gives the steps that ended before the watch, asked for only when it is set up.
 *
 * @example
 * ```ts
 * const watchRun = runWatcher(options, clock, logger);
 * watchRun(actor, identity, () => learner.watched(identity.id), { fromStart: false });
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
  ended: () => readonly StepView[],
  when: { readonly fromStart: boolean },
) => void {
  const history = options.history ?? memoryHistory();
  const throttleMs = options.progress?.throttleMs;
  return (actor, identity, ended, { fromStart }) => {
    const watchOptions = (): WatchOptions => ({
      ended: ended(),
      clock,
      history,
      logger,
      throttleMs,
      workflowId: identity.workflow,
      runId: identity.id,
      startedAt: identity.createdAt,
      learn: false,
    });
    if (fromStart) watchActor(actor, watchOptions());
    else deferWatch(actor, watchOptions);
  };
}

const progressStreams = new WeakMap<AnyActorRef, Observable<Progress>>();
const eventStreams = new WeakMap<AnyActorRef, Observable<StepLogEvent>>();

/**
 * `run.progress$`: created on first access, then the same stream (each subscriber starts from the state now).
 *
 * @example
 * ```ts
 * runProgress(run.actor).subscribe((p) => console.log(p.percent));
 * ```
 */
export function runProgress(actor: AnyActorRef): Observable<Progress> {
  let stream = progressStreams.get(actor);
  if (!stream) {
    stream = trackProgress(actor);
    progressStreams.set(actor, stream);
  }
  return stream;
}

/**
 * `run.events$`: created on first access; each subscriber first gets the steps so far, then live events.
 *
 * @example
 * ```ts
 * runEvents(run.actor).subscribe((e) => console.log(e.type));
 * ```
 */
export function runEvents(actor: AnyActorRef): Observable<StepLogEvent> {
  let stream = eventStreams.get(actor);
  if (!stream) {
    stream = trackStepEvents(actor);
    eventStreams.set(actor, stream);
  }
  return stream;
}
