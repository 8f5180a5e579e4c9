/**
 * RxJS's `Observable`, loaded on first use: importing rxjs costs more than the rest of a small run, and only the
 * progress streams need it. Under Node, rxjs is CommonJS for `import` and `require` alike, so this is the very
 * class `import { Observable } from 'rxjs'` gives (`instanceof` holds, every operator applies).
 */
import type { Observable, Subscriber, TeardownLogic } from 'rxjs';
import { lazyRequire } from '../lazy.js';

const rxjsObservable = lazyRequire<typeof import('rxjs/internal/Observable')>('rxjs/internal/Observable');

/**
 * A new RxJS `Observable` with this subscribe function (`new Observable(subscribe)`), loading rxjs's `Observable`
 * on the first call.
 *
 * @example
 * ```ts
 * const ticks$ = observable<number>((subscriber) => {
 *   subscriber.next(1);
 *   subscriber.complete();
 * });
 * ```
 */
export function observable<T>(subscribe: (subscriber: Subscriber<T>) => TeardownLogic): Observable<T> {
  const { Observable: RxObservable } = rxjsObservable();
  return new RxObservable<T>(subscribe);
}
