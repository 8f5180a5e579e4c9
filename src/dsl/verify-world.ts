/**
 * The vocabulary of the flow analysis: worlds (what a route has established), what the analysis reports, and how
 * worlds are told apart.
 */
import type { Sample } from './outcomes.js';

/**
 * What one route has established so far.
 *
 * @example
 * ```ts
 * const start: World = { facts: {}, route: [] };
 * ```
 */
export interface World {
  /** Results guards read, by step name. */
  readonly facts: Readonly<Record<string, unknown>>;
  /** Readable route: `scan done (critical)`, `triage: when0`... */
  readonly route: readonly string[];
  /** A region of a `failFast: false` parallel failed: the world skips to the region's end. */
  readonly pending?: boolean;
}

/**
 * What the abstract run found.
 *
 * @example
 * ```ts
 * const { reached, finished } = analyzeFlow(definition.spec);
 * reached.has('triage.when1'); // false: that arm never runs
 * ```
 */
export interface Flow {
  /** State paths entered, each with the first route that enters it. */
  readonly reached: ReadonlyMap<string, readonly string[]>;
  /** Containers (arms, regions, loops, branches, parallels, `running`) whose end some route reaches. */
  readonly finished: ReadonlySet<string>;
  /** Containers in which some route fails, with the first such route. */
  readonly failures: ReadonlyMap<string, readonly string[]>;
  /** Routes explored. */
  readonly routes: number;
  /** Some point had more than {@link MAX_WORLDS} worlds: the rest were dropped, so findings may be incomplete. */
  readonly truncated: boolean;
}

/**
 * A failure: the route ends here (`fail`), or skips to the end of a `failFast: false` region.
 *
 * @example
 * ```ts
 * const ends: Fail = (world, label, at) => [];
 * ```
 */
export type Fail = (world: World, label: string, at: readonly string[]) => World[];

/**
 * More combinations of results than this at one point, and the rest are dropped (reported as `too-large`).
 *
 * @example
 * ```ts
 * if (flow.truncated) console.log(`more than ${MAX_WORLDS} combinations somewhere`);
 * ```
 */
export const MAX_WORLDS = 256;

/**
 * A world's identity: its facts (sorted) and whether it skips to a region's end; routes do not count.
 *
 * @example
 * ```ts
 * key({ facts: { scan: {} }, route: ['scan done'] }); // '[[["scan",{}]],false]'
 * ```
 */
export function key(w: World): string {
  const facts = Object.keys(w.facts)
    .sort()
    .map((k) => [k, w.facts[k]]);
  return JSON.stringify([facts, w.pending === true]);
}

/**
 * How a sample shows in a route: its own label, or its number when there are several.
 *
 * @example
 * ```ts
 * label([{ output: {}, label: 'critical' }], 0); // ' (critical)'
 * ```
 */
export function label(samples: readonly Sample[], i: number): string {
  const own = samples[i]?.label;
  if (own !== undefined) return ` (${own})`;
  return samples.length > 1 ? ` #${i + 1}` : '';
}
