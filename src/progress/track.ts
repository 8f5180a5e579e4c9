/**
 * `trackProgress`: the progress stream of any XState actor whose states carry `meta.flowstate` step information,
 * a run of the engine or a hand-written machine. And `trackStepEvents`, its step log.
 */
import type { Observable } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import { computeProgress } from './compute.js';
import { withStepEvents } from './event-source.js';
import { replayEvents, type StepLogEvent } from './events.js';
import { observableClass } from './observable.js';
import type { Progress, TrackProgressOptions } from './progress.js';
import { throttleLatest } from './throttle.js';
import { type RunWatch, type WatchChange, watchActor } from './watch.js';

/** The throttle when neither the options nor the engine set one. */
const DEFAULT_THROTTLE_MS = 100;

/**
 * The progress of an actor as an RxJS stream. It emits the current progress at once, then on snapshot changes (at
 * most once per `throttleMs`, a failure and the final state excepted), and completes when the run ends. It never
 * errors: a snapshot it cannot read is skipped. Works on an actor created by the engine (`run.progress$` is this,
 * with the engine's history and throttle), or on your own actor of any machine whose states carry
 * `meta: { flowstate: { kind: 'step', name, expectedMs } }`, started or not.
 *
 * @example
 * ```ts
 * const actor = createActor(machine);
 * trackProgress(actor, { history }).subscribe((p) => console.log(`${p.percent}% ETA ${p.eta.remainingMs} ms`));
 * actor.start();
 * ```
 */
export function trackProgress(actor: AnyActorRef, options: TrackProgressOptions = {}): Observable<Progress> {
  const progress$ = new (observableClass())<Progress>((subscriber) => {
    const watch = watchActor(actor, options);
    const clock = watch.clock;
    const defaultStepMs = options.defaultStepMs ?? 1000;
    let best = 0;
    const compute = (): Progress | undefined => {
      try {
        const raw = computeProgress(watch, { now: clock.now(), defaultStepMs });
        // Monotonic: a retry or a slower arm raises the ETA, but the bar does not go back.
        best = Math.max(best, raw.percent);
        return raw.percent === best ? raw : { ...raw, percent: best };
      } catch (error) {
        watch.warn(error);
        return undefined;
      }
    };
    const changes = changesOf(watch, options.tickMs);
    const throttleMs = options.throttleMs ?? watch.throttleMs ?? DEFAULT_THROTTLE_MS;
    return changes.pipe(throttleLatest(throttleMs, { urgent: (c) => c.urgent, clock })).subscribe({
      next: () => {
        const progress = compute();
        if (progress) subscriber.next(progress);
      },
      complete: () => subscriber.complete(),
    });
  });
  // A reporter given only this stream still prints every step event (progress values are throttled).
  return withStepEvents(progress$, () => trackStepEvents(actor, options));
}

/** A watch's change signals: one at once (the current state), then each change, and ticks if asked. */
function changesOf(watch: RunWatch, tickMs: number | undefined): Observable<WatchChange> {
  return new (observableClass())<WatchChange>((subscriber) => {
    // Follow every step first, so the first emission already shows where each one is.
    watch.upgrade();
    subscriber.next({ urgent: true, ended: watch.ended });
    if (watch.ended) {
      subscriber.complete();
      return;
    }
    let tick: unknown;
    const arm = () => {
      if (tickMs === undefined || tickMs <= 0) return;
      tick = watch.clock.setTimeout(() => {
        subscriber.next({ urgent: false, ended: false });
        arm();
      }, tickMs);
    };
    arm();
    const stop = watch.listen((change) => {
      subscriber.next(change);
      if (change.ended) subscriber.complete();
    });
    return () => {
      stop();
      if (tick !== undefined) watch.clock.clearTimeout(tick);
    };
  });
}

/**
 * The step log of an actor as an RxJS stream: first each step so far (its start, and its end if it ended), then
 * every event as it happens; completes when the run ends. `run.events$` is this for a run of the engine.
 *
 * @example
 * ```ts
 * trackStepEvents(actor).subscribe((e) => console.log(e.at, e.path, e.type));
 * ```
 */
export function trackStepEvents(
  actor: AnyActorRef,
  options: TrackProgressOptions = {},
): Observable<StepLogEvent> {
  return new (observableClass())<StepLogEvent>((subscriber) => {
    const watch = watchActor(actor, options);
    watch.upgrade();
    for (const event of replayEvents(watch.steps.values())) subscriber.next(event);
    if (watch.ended) {
      subscriber.complete();
      return;
    }
    const stopEvents = watch.onEvent((event) => subscriber.next(event));
    const stopChanges = watch.listen((change) => {
      if (change.ended) subscriber.complete();
    });
    return () => {
      stopEvents();
      stopChanges();
    };
  });
}
