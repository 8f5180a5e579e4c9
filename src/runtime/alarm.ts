import type { Clock } from '../machine/clock.js';

/**
 * One timer that fires at the earliest time it was asked for: arming it for later than it is armed changes nothing,
 * for earlier moves it. It never keeps the process alive (unref'd). The passivation's sweeps and the wake-up
 * scheduler each keep one per engine, however many runs they look after.
 */
export class Alarm {
  private handle: unknown;
  private at = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  /** Fires at `at` (the clock's time), unless it is armed to fire earlier already. */
  armAt(at: number): void {
    if (this.stopped || at >= this.at) return;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.at = at;
    this.handle = this.clock.setTimeout(
      () => {
        this.handle = undefined;
        this.at = Number.POSITIVE_INFINITY;
        this.fire();
      },
      Math.max(0, at - this.clock.now()),
    );
    (this.handle as { unref?: () => void }).unref?.();
  }

  /** Never fires again. */
  stop(): void {
    this.stopped = true;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
