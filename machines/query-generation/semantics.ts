/**
 * What a request requires of any query that answers it, read from the request alone (never from the generator's
 * own reading of it): the limit ("top 5"), a superlative, the aggregate ("how many", "average"), the grouping ("per
 * genre", "for each country"), a negation, the values it names (a year or month, a status, a number, a quoted
 * name) and the thing counted. `semantic-check.ts` then looks for each in the candidate's SQL and parameters, so
 * a query that silently drops part of the request is never reported as an answer.
 */
import { identifierWords } from '../lib/references.js';
import { MONTHS } from './filters.js';
import { ordinalsOf } from './ordinals.js';
import type { SchemaContext } from './schema-context.js';
import { singular as foldPlural } from './vocabulary.js';

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

const YEAR = /^(19|20)\d\d$/;
/** A code: letters and digits in one word (`P5`, `INV-00042`, `A1B2`); not an ordinal (`2nd`). */
const CODE = /^(?=[\p{L}\p{N}_-]*\p{L})(?=[\p{L}\p{N}_-]*\p{N})[\p{L}\p{N}][\p{L}\p{N}_-]*$/u;
const ORDINAL = /^\d+(st|nd|rd|th)$/;
const YEAR_WORDS = ['in', 'during', 'for', 'of', 'since', 'from', 'after', 'before', 'until', 'year'];
const RANK_WORDS = /^(most|least|\w+est)$/;
/** Superlatives: without a number ("the longest track") they ask for one row, or a max()/min(). */
const SUPERLATIVES =
  /^(most|least|fewest|longest|shortest|biggest|largest|smallest|highest|lowest|cheapest|newest|oldest|latest|earliest|best|worst|top)$/;
/** Words that turn the request around ("customers who never bought"): the SQL must say NOT somewhere. */
const NEGATIONS = /^(never|not|without|no|none|nobody|nothing|neither)$/;
const AGGREGATES: readonly [RegExp, string, string][] = [
  [/\bhow many\b|\bnumber of\b|\bcount\b/, 'count', 'a count'],
  [
    /\bsum\b|\btotal (revenue|sales|amount|spent|spending|value|cost|price)s?\b|\btotal of\b|\brevenue\b/,
    'sum',
    'a sum',
  ],
  [/\baverage\b|\bavg\b|\bmean\b/, 'avg', 'an average'],
  [/\bmaximum\b|\bmax\b/, 'max', 'a maximum'],
  [/\bminimum\b|\bmin\b/, 'min', 'a minimum'],
];
const STOP = new Set(['the', 'a', 'an', 'all', 'every', 'each', 'their', 'its']);

/** A word's singular, roughly (tracks -> track, categories -> category). */
export const singular = (w: string) =>
  w.endsWith('ies') ? `${w.slice(0, -3)}y` : /(ss|us|is)$/.test(w) ? w : w.endsWith('s') ? w.slice(0, -1) : w;

/** The requirements of `context.request`. */
export function requirementsOf(context: SchemaContext): Requirement[] {
  const request = context.request;
  const lower = request.toLowerCase();
  const tokens = lower.match(/"[^"]*"|'[^']*'|[\p{L}\p{N}_.-]+/gu) ?? [];
  const words = tokens.map((t) => t.replace(/[.]+$/, ''));
  const out: Requirement[] = [];
  const used = new Set<number>();

  words.forEach((w, i) => {
    const next = words[i + 1] ?? '';
    if ((w === 'top' || w === 'first') && /^\d+$/.test(next)) {
      out.push({ kind: 'limit', what: `${w} ${next}`, n: Number(next) });
      used.add(i + 1);
    } else if (/^\d+$/.test(w) && RANK_WORDS.test(next) && !used.has(i)) {
      out.push({ kind: 'limit', what: `${w} ${next}`, n: Number(w) });
      used.add(i);
    }
  });
  const limited = out.some((r) => r.kind === 'limit');
  const superlative = words.findIndex((w) => SUPERLATIVES.test(w));
  if (superlative !== -1 && !limited) {
    out.push({ kind: 'superlative', what: words[superlative] ?? '' });
    // "the most tracks": a count of what follows.
    const next = words[superlative + 1];
    if (/^(most|least|fewest)$/.test(words[superlative] ?? '') && next && tableNamed(context, next))
      out.push({ kind: 'aggregate', what: 'a count', fn: 'count' });
  }
  out.push(...ordinalsOf(words, (phrase) => tableNamed(context, phrase)));
  const negation = words.find((w) => NEGATIONS.test(w));
  if (negation) out.push({ kind: 'negation', what: negation });
  const fns = AGGREGATES.filter(([pattern]) => pattern.test(lower));
  for (const [, fn, what] of fns) out.push({ kind: 'aggregate', what, fn });

  const ranked = out.some((r) => r.kind === 'limit');
  words.forEach((w, i) => {
    const isPer = w === 'per' || w === 'each' || (w === 'for' && words[i + 1] === 'each');
    const isBy =
      w === 'by' && !ranked && !['sorted', 'ordered', 'order', 'sort'].includes(words[i - 1] ?? '');
    if (!isPer && !(isBy && fns.length > 0)) return;
    let k = i + (w === 'for' ? 2 : 1);
    while (STOP.has(words[k] ?? '')) k++;
    const term = words[k];
    if (term === undefined || /^\d+$/.test(term)) return;
    // "per billing country" names the column BillingCountry: take the second word when the two name a column.
    const pair = [singular(term), singular(words[k + 1] ?? '')];
    const two = context.tables.some((t) =>
      t.columns.some((c) => identifierWords(c.name).map(singular).join('_') === pair.join('_')),
    );
    const groupWords = two ? pair : [singular(term)];
    out.push({ kind: 'group', what: `${w} ${groupWords.join(' ')}`, words: groupWords });
    // "tracks per genre": what is counted is named just before `per` ("playlist tracks" before "tracks").
    const counted = [words.slice(Math.max(0, i - 2), i).join(' '), words[i - 1] ?? ''].find((p) =>
      tableNamed(context, p),
    );
    if (isPer && counted && fns.every(([, fn]) => fn === 'count')) {
      if (fns.length === 0) out.push({ kind: 'aggregate', what: 'a count', fn: 'count' });
      out.push({ kind: 'entity', what: counted, words: identifierWords(tableNamed(context, counted) ?? '') });
    }
  });
  const countOf = /\b(?:how many|number of|count of)\s+(?:the\s+)?([\p{L}_]+)(?:\s+([\p{L}_]+))?/u.exec(
    lower,
  );
  const phrase = [`${countOf?.[1]} ${countOf?.[2]}`, countOf?.[1] ?? ''].find((p) => tableNamed(context, p));
  if (phrase && !out.some((r) => r.kind === 'entity')) {
    out.push({ kind: 'entity', what: phrase, words: identifierWords(tableNamed(context, phrase) ?? '') });
  }

  // Values the request names: a code is checked once, whether or not a column also lists it.
  const seen = new Set<string>();
  const raw = request.match(/[\p{L}\p{N}_-]+/gu) ?? [];
  const names = new Set(
    context.tables
      .flatMap((t) => [t.name, ...t.columns.map((c) => c.name)])
      .map((n) => identifierWords(n).join('_')),
  );
  words.forEach((w, i) => {
    if (used.has(i)) return;
    const month = MONTHS.indexOf(words[i - 1] ?? '');
    const lead = words[month === -1 ? i - 1 : i - 2] ?? '';
    if (YEAR.test(w) && (YEAR_WORDS.includes(lead) || month !== -1)) {
      const mode = /^(since|from|after)$/.test(lead)
        ? 'since'
        : /^(before|until)$/.test(lead)
          ? 'before'
          : 'in';
      const value = month === -1 ? w : `${w}-${String(month + 1).padStart(2, '0')}`;
      out.push({ kind: 'year', what: month === -1 ? w : `${words[i - 1]} ${w}`, value, mode });
    } else if (/^\d+(\.\d+)?$/.test(w)) {
      out.push({ kind: 'value', what: w, value: Number(w) });
    } else if (CODE.test(w) && !ORDINAL.test(w) && !names.has(identifierWords(w).join('_'))) {
      // A code ("product P5", "invoice INV-00042") names one row: a query without it answers another question.
      const value = raw.find((r) => r.toLowerCase() === w) ?? w;
      seen.add(w);
      out.push({ kind: 'value', what: `'${value}'`, value });
    } else if (/^["'].*["']$/.test(w) && w.length > 2) {
      out.push({
        kind: 'value',
        what: w,
        value:
          request
            .match(/"[^"]*"|'[^']*'/g)
            ?.find((q) => q.toLowerCase() === w)
            ?.slice(1, -1) ?? w.slice(1, -1),
      });
    }
  });
  // Values of the schema's columns the request names ("shipped", "FR", "Rock"): short ones must match case too.
  for (const table of context.tables) {
    for (const column of table.columns) {
      for (const value of column.values) {
        const hit = raw.some((r) =>
          value.length <= 3 ? r === value : r.toLowerCase() === value.toLowerCase(),
        );
        if (hit && !seen.has(value.toLowerCase()) && !tableNamed(context, value)) {
          seen.add(value.toLowerCase());
          out.push({ kind: 'value', what: `'${value}'`, value });
        }
      }
    }
  }
  out.push(...namedValues(context, out));
  return out;
}

/** Days and months: a request's capitalized words that name a time, not a value (read as dates where at all). */
const TIME_WORDS = new Set([
  ...MONTHS,
  ...MONTHS.map((m) => m.slice(0, 3)),
  'sept',
  'mon',
  'tue',
  'tues',
  'wed',
  'thu',
  'thur',
  'thurs',
  'fri',
  'sat',
  'sun',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
  'today',
  'yesterday',
]);

/** Words a request may capitalize that name no value (title case, emphasis, SQL words). */
const NOT_NAMES = new Set(
  `a all also an and are as at average by count each every first for from group grouped how in inner is join last
  left list many max min much next not number of on only or order ordered per please right select show sort sorted
  sum the there this to top total using what where which who with without`.split(/\s+/),
);

/**
 * Names the request capitalizes that nothing above reads as a value and the schema does not name ("customers in
 * France", "albums by Queen"): a query that answers must show each as a value, in its parameters or as a literal.
 * Without this a generator that cannot place one answers a wider question (every customer) as if it were the
 * request; with it the request is left unanswered, or the query is tried again. The first word of a sentence and
 * quoted text are not read (a quoted value is a requirement already).
 */
function namedValues(context: SchemaContext, found: readonly Requirement[]): Requirement[] {
  const schemaWords = new Set(
    context.tables.flatMap((t) =>
      [t.name, ...t.columns.map((c) => c.name)].flatMap((n) => identifierWords(n).map(foldPlural)),
    ),
  );
  const covered = new Set(
    found.flatMap((r) =>
      r.kind === 'value'
        ? String(r.value)
            .toLowerCase()
            .split(/[^\p{L}\p{N}]+/u)
        : [],
    ),
  );
  const out: Requirement[] = [];
  // Quoted text is left out (an apostrophe inside a word, O'Brien, quotes nothing); what stands in its place is no
  // sentence end, so the word after it is still read.
  const unquoted = context.request.replace(/"[^"]*"|(?<!\p{L})'[^']*'(?!\p{L})/gu, ' _ ');
  // A request in title case ("Customers From Canada": a word such as From, By, Of capitalized after the first)
  // capitalizes words, not names: nothing is read from it.
  const titled = [...unquoted.matchAll(/(?<=\p{L}[^\p{L}.!?:;\n]*)\p{Lu}\p{Ll}*/gu)].some((m) =>
    NOT_NAMES.has(m[0].toLowerCase()),
  );
  if (titled) return [];
  let name: string[] = [];
  let end = -1;
  const flush = () => {
    const value = name.join(' ');
    name = [];
    if (value === '' || covered.has(value.toLowerCase())) return;
    covered.add(value.toLowerCase());
    out.push({ kind: 'value', what: `'${value}'`, value, named: true });
  };
  for (const m of unquoted.matchAll(/[\p{L}\p{N}_-]+/gu)) {
    const word = m[0];
    const before = unquoted.slice(0, m.index).trimEnd();
    const lower = word.toLowerCase();
    const isName =
      /^\p{Lu}\p{Ll}+$/u.test(word) &&
      before !== '' &&
      !/[.!?:;\n]$/.test(unquoted.slice(0, m.index).replace(/[ \t]+$/, '')) &&
      !NOT_NAMES.has(lower) &&
      !schemaWords.has(foldPlural(lower)) &&
      !covered.has(lower) &&
      !TIME_WORDS.has(lower);
    // "New York": capitalized words next to each other are one name.
    if (!isName || (name.length > 0 && unquoted.slice(end, m.index) !== ' ')) flush();
    if (isName) {
      name.push(word);
      end = m.index + word.length;
    }
  }
  flush();
  return out;
}

/** The table a word of the request names (`tracks` -> `Track`, `invoice` -> `invoices`), if any. */
function tableNamed(context: SchemaContext, phrase: string): string | undefined {
  const w = phrase.toLowerCase().split(/\s+/).map(singular).join('_');
  const names = context.tables.map((t) => ({ t, name: identifierWords(t.name).map(singular) }));
  return (
    names.find(({ name }) => name.join('_') === w) ??
    names.find(({ t, name }) => t.kind === 'table' && name.at(-1) === w)
  )?.t.name;
}
