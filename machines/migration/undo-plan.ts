/**
 * The statements of a revert, by phase, as `undoPlan` builds them with the helpers of `undo-columns.ts` and
 * `undo-triggers.ts`: a file of its own so that they take it from here, not from the planner that calls them.
 */

/** The statements of a revert, by phase. */
export interface UndoPlan {
  readonly drop: string[];
  readonly create: string[];
  readonly finish: string[];
  /** Tables that `create` makes again (their rows come back whole from the backup). */
  readonly recreated: string[];
}

/** The entries of `list` by name (columns, constraints, indexes, tables, views of a snapshot). */
export const byName = <T extends { name: string }>(list: readonly T[]) =>
  new Map(list.map((x) => [x.name, x]));
