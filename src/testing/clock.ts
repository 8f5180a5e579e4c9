import type { Clock } from '../machine/clock.js';

/**
 * A clock whose time moves only when told: deadlines, backoffs and attempt timeouts of a run on it fire exactly
 * when a test advances past them, whatever the test's own timers are (vitest fake timers or real ones).
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const engine = createEngine({ agents, clock });
 * await clock.advanceTo(clock.now() + 60_000, settle);
 * ```
 */
export class VirtualClock implements Clock {
  #time: number;
  #next = 1;
  readonly #timers = new Map<number, { readonly at: number; readonly callback: () => void }>();

  constructor(start = 0) {
    this.#time = start;
  }

  now(): number {
    return this.#time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time to `target`, firing every timer due on the way in order, each at its own time, and awaiting
   * `settle` after each so the run reacts (and schedules) before the next one fires.
   */
  async advanceTo(target: number, settle: () => Promise<void>): Promise<void> {
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers)
        if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#time = Math.max(this.#time, due[1].at);
      due[1].callback();
      await settle();
    }
    this.#time = Math.max(this.#time, target);
  }
}
