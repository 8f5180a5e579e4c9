/**
 * Throttling that keeps what matters: at most one value per window, the latest one, with urgent values (a failure,
 * the end) let through at once and the last value flushed before completion.
 */
import type { MonoTypeOperatorFunction } from 'rxjs';
import { type Clock, systemClock } from '../machine/clock.js';
import { observableClass } from './observable.js';

/**
 * Options of {@link throttleLatest}.
 *
 * @example
 * ```ts
 * changes$.pipe(throttleLatest(100, { urgent: (c) => c.failed, clock }));
 * ```
 */
export interface ThrottleOptions<T> {
  /** Values emitted at once, whatever the window (they start a new one). */
  readonly urgent?: (value: T) => boolean;
  /** @default the system clock */
  readonly clock?: Clock;
}

/**
 * Emits the first value at once, then at most one value per `ms`: the latest one, at the end of the window. An urgent
 * value is emitted at once and replaces any value held. On completion or error, a held value is emitted first, so
 * the final state is never dropped. `ms <= 0` lets everything through.
 *
 * @example
 * ```ts
 * changes$.pipe(throttleLatest(100, { urgent: (c) => c.failed }));
 * ```
 */
export function throttleLatest<T>(ms: number, options: ThrottleOptions<T> = {}): MonoTypeOperatorFunction<T> {
  const clock = options.clock ?? systemClock;
  return (source) =>
    new (observableClass())<T>((subscriber) => {
      let last = Number.NEGATIVE_INFINITY;
      let held: { readonly value: T } | undefined;
      let timer: unknown;
      const cancel = () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        timer = undefined;
      };
      const send = (value: T) => {
        held = undefined;
        last = clock.now();
        subscriber.next(value);
      };
      const flush = () => {
        cancel();
        if (held) send(held.value);
      };
      const subscription = source.subscribe({
        next: (value) => {
          const now = clock.now();
          if (ms <= 0 || now - last >= ms || options.urgent?.(value)) {
            cancel();
            send(value);
            return;
          }
          held = { value };
          timer ??= clock.setTimeout(flush, last + ms - now);
        },
        error: (error: unknown) => {
          flush();
          subscriber.error(error);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        cancel();
        subscription.unsubscribe();
      };
    });
}
