/**
 * rxjs's `Observable` class, loaded when the first stream is made (a read of `progress$` or `events$`, a call of
 * `trackProgress`), not when the package is imported: a run nobody watches never needs it.
 */
import { createRequire } from 'node:module';
import type { Observable } from 'rxjs';

let observable: typeof Observable | undefined;

/**
 * The class from the file of rxjs's index that defines it, so `instanceof Observable` holds for users of 'rxjs'
 * (under Node, rxjs's `import` and `require` both resolve to its CommonJS build: one module, one class), without the
 * rest of the index, which costs more at startup than a small run.
 *
 * @example
 * ```ts
 * const Observable = observableClass();
 * return new Observable<number>((subscriber) => subscriber.complete());
 * ```
 */
export function observableClass(): typeof Observable {
  observable ??= (
    createRequire(import.meta.url)('rxjs/internal/Observable') as { Observable: typeof Observable }
  ).Observable;
  return observable;
}
