import { Bench } from 'tinybench';

/** Collects garbage between measurements when the process runs with `--expose-gc`. */
export function collect() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
}

/** The `q` quantile (0..1) of sorted samples, interpolated linearly like tinybench does. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** Median and p99 of raw samples (used where tinybench does not fit: child processes, heap deltas). */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), n: sorted.length };
}

/**
 * Runs `fn` until both the warm-up time and the warm-up iteration count are spent (JIT, inline caches); returns the
 * mean time per call (ms), used to keep cheap tasks from collecting millions of samples.
 */
async function warmUp(fn, { warmupTime, warmupIterations }) {
  const t0 = performance.now();
  const end = t0 + warmupTime;
  let i = 0;
  for (; i < warmupIterations || performance.now() < end; i++) await fn();
  return (performance.now() - t0) / Math.max(1, i);
}

/** Enough samples for a stable p99: a cheap task stops near this count instead of filling its whole time budget. */
const MAX_SAMPLES = 20_000;

/** One tinybench pass over `fn`; returns its retained samples (ms). */
async function slice(name, fn, { time, iterations }) {
  const bench = new Bench({ name, time, iterations, warmup: false, retainSamples: true, throws: true });
  bench.add(name, fn, { async: true, beforeAll: collect });
  const [task] = await bench.run();
  const { state } = task.result;
  if (state !== 'completed')
    throw new Error(`benchmark '${name}' ended ${state}: ${task.result.error ?? ''}`);
  return task.result.latency.samples ?? [];
}

/**
 * Times each of `tasks` (`{ key: fn }`, sync or async) with tinybench, side by side: every task is warmed up first,
 * then the budget is split into `rounds` slices run round-robin (the order rotating each round), so a change in
 * machine load hits every contender alike. Returns `{ key: { median, p99, n } }` in ms per call.
 * A task may return `{ overriddenDuration }` (ms) to time only part of its work.
 */
export async function compare(name, tasks, budget) {
  const keys = Object.keys(tasks);
  const rounds = budget.rounds ?? 1;
  const iterations = Math.max(1, Math.ceil(budget.iterations / rounds));
  const per = {};
  for (const key of keys) {
    const msPerCall = await warmUp(tasks[key], budget);
    per[key] = { time: Math.min(budget.time, MAX_SAMPLES * msPerCall) / rounds, iterations };
  }
  const samples = Object.fromEntries(keys.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(i + r) % keys.length];
      for (const sample of await slice(`${name} ${key}`, tasks[key], per[key])) samples[key].push(sample);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, summarize(samples[k])]));
}

/** Applies `f` to every contender's result of a `compare`. */
export function each(results, f) {
  return Object.fromEntries(Object.entries(results).map(([k, r]) => [k, f(r)]));
}

/** Rescales a result in ms per call to another unit (for example µs per step: `scale(r, 1000 / 100)`). */
export function scale(result, factor) {
  return { ...result, median: result.median * factor, p99: result.p99 * factor };
}

/** Turns a time per batch (ms) into a rate; the p99 of the time becomes the slow-tail (p99) rate. */
export function rate(result, itemsPerBatch) {
  return {
    ...result,
    median: (itemsPerBatch * 1000) / result.median,
    p99: (itemsPerBatch * 1000) / result.p99,
  };
}
