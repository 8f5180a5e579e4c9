import { pino } from 'pino';
import { createEngine, type EngineOptions } from '../../src/index.js';

/** A logger that prints nothing, so tests print nothing unexpected. */
export const silent = pino({ level: 'silent' });

/** An engine with a silent logger and no jitter (so delays are exact). */
export function testEngine(options: EngineOptions = {}) {
  return createEngine({ logger: silent, random: () => 0, ...options });
}

/** Resolves after `ms` of fake time (vitest fake timers), running every timer and microtask due. */
export async function elapse(vi: { advanceTimersByTimeAsync(ms: number): Promise<unknown> }, ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
}

/** A promise you resolve or reject from outside, for agents the test controls. */
export function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
