/**
 * An abort controller made on demand. Most agents never read `ctx.signal` (a no-op, a pure transform); creating an
 * `AbortController` for every attempt of those cost about 5% of a step. The signal an agent does read aborts exactly
 * as an eager one would, also when it is first read after the abort.
 *
 * @example
 * ```ts
 * const abort = new LazyAbort();
 * const ctx = { get signal() { return abort.signal; } };
 * abort.abort(new Error('timed out')); // ctx.signal, read now or later, is aborted with that reason
 * ```
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  /** The signal, created on first read (already aborted if the attempt was). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Aborts once; later calls change nothing, like `AbortController.abort`. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
