/**
 * Arithmetic on `[estimate, low, high]` triples, and the two estimates that are more than arithmetic: how a map's
 * remaining items fill its concurrency, and how many more rounds a loop will run.
 */
import type { StateValue } from 'xstate';
import type { PlanNode } from './plan.js';

/**
 * `[estimate, low, high]`, in ms.
 *
 * @example
 * ```ts
 * const [remainingMs, low, high]: Range = [1200, 900, 2000];
 * ```
 */
export type Range = readonly [mid: number, low: number, high: number];

/**
 * Nothing left.
 *
 * @example
 * ```ts
 * const left = done ? ZERO : remaining;
 * ```
 */
export const ZERO: Range = [0, 0, 0];

/** Above this many pending items times workers, a map's schedule is approximated instead of simulated. */
const SIMULATE_LIMIT = 20_000;

/**
 * The active child of a compound node and the state value under it.
 *
 * @example
 * ```ts
 * const [child, value] = activeChild(node, snapshot.value);
 * ```
 */
export function activeChild(
  node: PlanNode,
  value: StateValue | undefined,
): [PlanNode | undefined, StateValue | undefined] {
  if (typeof value === 'string') return [node.children.get(value), undefined];
  if (value === undefined) return [undefined, undefined];
  for (const key in value) return [node.children.get(key), value[key]];
  return [undefined, undefined];
}

/**
 * Rounds a loop is expected to run after the current one: the mean of the past round counts that reach at least
 * this round, with their least and most; without such history, none (up to `maxIterations` in the range).
 *
 * @example
 * ```ts
 * roundsAfter({ '3': 1 }, 2, 5); // [1, 1, 1]: one more round
 * ```
 */
export function roundsAfter(
  choices: Readonly<Record<string, number>> | undefined,
  current: number,
  maxIterations: number,
): Range {
  let weight = 0;
  let sum = 0;
  let low = Number.POSITIVE_INFINITY;
  let high = 0;
  for (const [key, w] of Object.entries(choices ?? {})) {
    const rounds = Number(key);
    if (!(rounds >= current) || w <= 0) continue;
    weight += w;
    sum += rounds * w;
    low = Math.min(low, rounds);
    high = Math.max(high, rounds);
  }
  if (weight === 0) return [0, 0, Math.max(0, maxIterations - current)];
  return [sum / weight - current, low - current, high - current];
}

/**
 * When the last of `pending` items of duration `each` ends, on `workers` parallel slots that are free after the
 * given times: each item goes to the slot free first (list scheduling, as the map starts them).
 *
 * @example
 * ```ts
 * schedule([30, 80], 3, 100, 2); // 230: items at 30-130, 80-180, 130-230
 * ```
 */
export function schedule(busy: readonly number[], pending: number, each: number, workers: number): number {
  const free = busy.slice(0, workers);
  while (free.length < workers) free.push(0);
  if (pending * workers > SIMULATE_LIMIT) {
    const average = free.reduce((a, b) => a + b, 0) / workers;
    return Math.max(Math.max(...free), average + Math.ceil(pending / workers) * each);
  }
  for (let n = 0; n < pending; n++) {
    let first = 0;
    for (let i = 1; i < workers; i++) if ((free[i] as number) < (free[first] as number)) first = i;
    free[first] = (free[first] as number) + each;
  }
  return Math.max(...free);
}

/**
 * What is left of an expected duration after `spent` ms: never less than zero.
 *
 * @example
 * ```ts
 * residual([300, 200, 500], 250); // [50, 0, 250]
 * ```
 */
export function residual(expected: Range, spent: number): Range {
  return [
    Math.max(0, expected[0] - spent),
    Math.max(0, expected[1] - spent),
    Math.max(0, expected[2] - spent),
  ];
}

/**
 * Component-wise sum: one thing after another.
 *
 * @example
 * ```ts
 * add([100, 50, 200], [10, 5, 20]); // [110, 55, 220]
 * ```
 */
export function add(a: Range, b: Range): Range {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

/**
 * Component-wise maximum: things at the same time.
 *
 * @example
 * ```ts
 * max([100, 50, 200], [120, 10, 150]); // [120, 50, 200]
 * ```
 */
export function max(a: Range, b: Range): Range {
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.max(a[2], b[2])];
}

/**
 * Component-wise product: a duration times a count.
 *
 * @example
 * ```ts
 * mul([100, 50, 200], [2, 1, 4]); // [200, 50, 800]
 * ```
 */
export function mul(a: Range, b: Range): Range {
  return [a[0] * b[0], a[1] * b[1], a[2] * b[2]];
}
