/**
 * Time as Flowstate sees it. Injected so tests run on fake time; the default reads the globals at call time,
 * so vitest's fake timers apply to it too.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `callback` once, `ms` milliseconds from now, and returns a handle for `clearTimeout`. Step, wait and
   * escalation deadlines arm it for at most 2^31-1 ms at a time (longer ones are split).
   */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels the timer of a handle `setTimeout` returned; the timer may have fired already. */
  clearTimeout(handle: unknown): void;
}

/** The real clock (`Date.now` and the global timers). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Node fires a timer at once when its delay passes 2^31-1 ms (about 24.8 days), so longer waits are chunked. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `callback` once `clock.now()` reaches `deadline`; returns a function that cancels it. */
export function scheduleAt(clock: Clock, deadline: number, callback: () => void): () => void {
  let handle: unknown;
  const arm = () => {
    const remaining = deadline - clock.now();
    if (remaining <= 0) {
      handle = undefined;
      callback();
      return;
    }
    handle = clock.setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
  };
  // A deadline already past still fires asynchronously, never inside the caller's stack.
  handle = clock.setTimeout(arm, Math.max(0, Math.min(deadline - clock.now(), MAX_TIMER_MS)));
  return () => {
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
  };
}
