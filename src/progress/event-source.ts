/**
 * The step log behind a progress stream: `trackProgress` (and so `run.progress$`) tags the stream it returns with a
 * way to read its run's step events, so `terminalReporter(run.progress$)` prints every retry with its reason.
 * Progress values are throttled and carry no reasons: a step log made from them drops what a window hides.
 */
import type { Observable } from 'rxjs';
import type { StepLogEvent } from './events.js';

/** Not enumerable, under a symbol: invisible to anyone who just subscribes, and kept out of JSON and logs. */
const EVENTS = Symbol.for('flowstate.progress.events');

/**
 * Tags `progress$` with the factory of its run's step log.
 *
 * @example
 * ```ts
 * return withStepEvents(progress$, () => trackStepEvents(actor, options));
 * ```
 */
export function withStepEvents<T extends object>(progress$: T, events: () => Observable<StepLogEvent>): T {
  Object.defineProperty(progress$, EVENTS, { value: events });
  return progress$;
}

/**
 * The step log of the run a progress stream follows, when the stream came from `trackProgress` as it is (an
 * operator such as `pipe(...)` makes another stream, without it).
 *
 * @example
 * ```ts
 * const events$ = stepEventsOf(run.progress$); // run.events$'s equivalent
 * ```
 */
export function stepEventsOf(progress$: object): Observable<StepLogEvent> | undefined {
  const events = (progress$ as { [EVENTS]?: () => Observable<StepLogEvent> })[EVENTS];
  return typeof events === 'function' ? events() : undefined;
}
