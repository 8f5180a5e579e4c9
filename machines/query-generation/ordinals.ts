/**
 * Ordinals that point at a row by its position: "tracks on the 2nd album", "the third invoice of customer 5", "the
 * 2nd longest track". A query that drops the ordinal answers another question (every album's tracks), so it is a
 * requirement like the others: the query must pick that row, over that table, by an order and a position
 * (`ORDER BY ... LIMIT 1 OFFSET n - 1`, in the query or in a subquery). Which order the request means is not
 * guessed here; any ORDER BY is taken, and a query that picks the row another way (`row_number()`) is refused (the
 * safe side: unanswered, never a wrong answer).
 */
import { identifierWords } from '../lib/references.js';

/** The requirement of an ordinal: the row at position `n` of `table`. */
export interface OrdinalRequirement {
  readonly kind: 'ordinal';
  /** For messages: `2nd album`. */
  readonly what: string;
  readonly n: number;
  readonly table: string;
}

const WORDS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth'];
/** Words between an ordinal and its table that rank ("the 2nd most expensive product", "the 3rd longest track"). */
const RANKING = /^(most|least|\w+est)$/;

/** The position an ordinal word gives (`2nd` -> 2, `third` -> 3), if it is one. */
function position(word: string): number | undefined {
  const numeric = /^(\d+)(st|nd|rd|th)$/.exec(word);
  if (numeric) return Number(numeric[1]);
  const k = WORDS.indexOf(word);
  return k === -1 ? undefined : k + 1;
}

/**
 * The ordinals of a request's words (lower case, in order) that name a row of a table: an ordinal, at most two
 * ranking words, then a table named in the singular (`first 10 orders` is a limit; `first name` names no table;
 * `the first customers` names no one row).
 */
export function ordinalsOf(
  words: readonly string[],
  tableNamed: (phrase: string) => string | undefined,
): OrdinalRequirement[] {
  const out: OrdinalRequirement[] = [];
  words.forEach((word, i) => {
    const n = position(word);
    if (n === undefined) return;
    let k = i + 1;
    if (RANKING.test(words[k] ?? '')) k += RANKING.test(words[k + 1] ?? '') || words[k] === 'most' ? 2 : 1;
    for (const phrase of [words.slice(k, k + 2).join(' '), words[k] ?? '']) {
      const table = tableNamed(phrase);
      const last = phrase.split(' ').at(-1) ?? '';
      // "albums" would be "the first albums": a number of rows, not a position; left to the other requirements.
      if (table === undefined || (last.endsWith('s') && !last.endsWith('ss'))) continue;
      out.push({ kind: 'ordinal', what: `${words.slice(i, k).join(' ')} ${phrase}`, n, table });
      return;
    }
  });
  return out;
}

/**
 * Why `sql` does not pick the row the ordinal names, or null when it does: some `FROM <table>` that is the first
 * table of its own SELECT (so the position is over that table's rows, not a join's) whose SELECT has an ORDER BY,
 * LIMIT 1 and, past the first row, OFFSET n - 1 (literals or parameters).
 */
export function ordinalProblem(
  r: Omit<OrdinalRequirement, 'kind'>,
  sql: string,
  params: readonly unknown[],
): string | null {
  // Strings and comments hold no clause; quoted identifiers keep their parentheses out of the scopes.
  const text = sql
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"[^"]*"/g, (q) => q.replace(/[()]/g, '_'));
  const want = identifierWords(r.table).join('_');
  const numberAt = (ref: string | undefined) =>
    ref === undefined ? undefined : Number(ref.startsWith('$') ? params[Number(ref.slice(1)) - 1] : ref);
  for (const scope of scopes(text)) {
    const first = /\bfrom\s+(?:(?:"[^"]+"|\w+)\s*\.\s*)?("[^"]+"|\w+)/i.exec(scope)?.[1] ?? '';
    if (identifierWords(first.replaceAll('"', '')).join('_') !== want) continue;
    const lower = scope.toLowerCase();
    const limit = numberAt(/\blimit\s+(\$\d+|\d+)/.exec(lower)?.[1]);
    const offset = numberAt(/\boffset\s+(\$\d+|\d+)/.exec(lower)?.[1]) ?? 0;
    if (/\border\s+by\b/.test(lower) && limit === 1 && offset === r.n - 1) return null;
  }
  const pick = `ORDER BY ... LIMIT 1${r.n > 1 ? ` OFFSET ${r.n - 1}` : ''}`;
  return `The request asks for the ${r.what} (a row position) but the query does not pick it: no ${pick} over ${r.table}`;
}

/** Each SELECT of `text` (the whole, and every parenthesized part) with its own nested parts blanked out. */
function scopes(text: string): string[] {
  const out: string[] = [];
  const open: number[] = [];
  const spans: [number, number][] = [[0, text.length]];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') open.push(i);
    else if (text[i] === ')' && open.length > 0) spans.push([(open.pop() as number) + 1, i]);
  }
  for (const [start, end] of spans) {
    let scope = text.slice(start, end);
    // Innermost first, until none is left: what remains is this level's own clauses.
    for (let previous = ''; previous !== scope; ) {
      previous = scope;
      scope = scope.replace(/\([^()]*\)/g, ' ');
    }
    out.push(scope);
  }
  return out;
}
