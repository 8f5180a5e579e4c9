/** The keys of the states every compiled machine has, which the compilers, `verify` and test paths refer to. */

/** The key of the final state that ends every compiled sequence below the root (arms, regions, loop bodies). */
export const END = '__end';
/** The key of a branch's deciding state. */
export const DECIDE = '__decide';

/**
 * The keys of the root's own states, beside the top-level nodes (which are the root's children: a flat machine, so
 * XState's per-transition work does not pay for a level of nesting). A step name starts with a letter
 * (src/model/names.ts), so none can take these.
 */
export const ROOT_STATES = {
  /** Runs the compensations, then ends as `compensated`. */
  compensating: '__compensating',
  /** The final state the top-level sequence's last node goes to. */
  done: '__done',
  failed: '__failed',
  compensated: '__compensated',
  cancelled: '__cancelled',
} as const;
