import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { scheduleAt, systemClock } from '../../src/machine/clock.js';

describe('scheduleAt', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('chunks delays past 2^31-1 ms, which Node would otherwise fire at once', async () => {
    const fired = vi.fn();
    const thirtyDays = 30 * 24 * 3600 * 1000;
    scheduleAt(systemClock, thirtyDays, fired);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(thirtyDays - 2 ** 31 - 1);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires a past deadline asynchronously, and not at all once cancelled', async () => {
    const fired = vi.fn();
    scheduleAt(systemClock, -5, fired);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toHaveBeenCalledTimes(1);
    const cancelled = vi.fn();
    const cancel = scheduleAt(systemClock, 100, cancelled);
    cancel();
    cancel();
    await vi.advanceTimersByTimeAsync(200);
    expect(cancelled).not.toHaveBeenCalled();
  });
});
