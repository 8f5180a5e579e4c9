/** The keys of the states every compiled machine has, which the compilers, `verify` and test paths refer to. */

/** The key of the final state that ends every compiled sequence. */
export const END = '__end';
/** The key of a branch's deciding state. */
export const DECIDE = '__decide';
