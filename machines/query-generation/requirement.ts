/**
 * A requirement of a request, as `semantics.ts` reads it and `semantic-check.ts` looks for it, and the singular the
 * words it holds are folded to on both sides.
 */

/** What the request requires of any query that answers it. */
export interface Requirement {
  readonly kind:
    | 'limit'
    | 'superlative'
    | 'negation'
    | 'aggregate'
    | 'group'
    | 'value'
    | 'year'
    | 'entity'
    | 'ordinal';
  /** For messages: `top 5`, `count`, `per genre`, `'shipped'`, `2010`, `tracks`. */
  readonly what: string;
  readonly n?: number;
  readonly fn?: string;
  /** The words a grouping or an entity must show in the SQL (singular, lower case). */
  readonly words?: readonly string[];
  readonly value?: string | number;
  /** For an ordinal ("the 2nd album"): the table whose row at position `n` is meant. */
  readonly table?: string;
  /** For a year or month: within it, since its start, or before it. */
  readonly mode?: 'in' | 'since' | 'before';
  /**
   * A value only named in the request (a capitalized word): shown if a literal or parameter holds it as a word, or
   * holds one of the values a column lists (the name may be stored as a code: France as FR).
   */
  readonly named?: boolean;
}

/** A word's singular, roughly (tracks -> track, categories -> category). */
export const singular = (w: string) =>
  w.endsWith('ies') ? `${w.slice(0, -3)}y` : /(ss|us|is)$/.test(w) ? w : w.endsWith('s') ? w.slice(0, -1) : w;
