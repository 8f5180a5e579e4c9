/**
 * What a request requires of any query that answers it, read from the request alone (never from the generator's
 * own reading of it): the limit ("top 5"), a superlative, the aggregate ("how many", "average"), the grouping ("per
 * genre", "for each country"), a negation, the values it names (a year or month, a status, a number, a quoted
 * name; the capitalized names, `named-values.ts`) and the thing counted. `semantic-check.ts` then looks for each in
 * the candidate's SQL and parameters, so a query that silently drops part of the request is never reported as an
 * answer.
 */
import { identifierWords } from '../lib/references.js';
import { MONTHS } from './filters.js';
import { namedValues } from './named-values.js';
import { ordinalsOf } from './ordinals.js';
import { type Requirement, singular } from './requirement.js';
import type { SchemaContext } from './schema-context.js';

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

/** The requirements of `context.request`. */
export function requirementsOf(context: SchemaContext): Requirement[] {
  const request = context.request;
  const lower = request.toLowerCase();
  const tokens = lower.match(/"[^"]*"|'[^']*'|[\p{L}\p{N}_.-]+/gu) ?? [];
  const words = tokens.map((t) => t.replace(/[.]+$/, ''));
  const out: Requirement[] = [];
  // A number that is part of a table's or column's name ("entity 0001" for `entity_0001`, "audit 2021") names it:
  // it is no value the query must filter on.
  const used = numbersInNames(context, words);

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

/**
 * The positions of the numbers of `words` that belong to a mention of a table or column whose name holds them, such
 * as 0001 in "entity 0001" (`entity_0001`) or 2021 in "audit 2021" (`"Audit 2021"`): words matched in order, plurals
 * folded.
 */
function numbersInNames(context: SchemaContext, words: readonly string[]): Set<number> {
  const found = new Set<number>();
  const names = context.tables.flatMap((t) => [t.name, ...t.columns.map((c) => c.name)]);
  for (const name of new Set(names)) {
    const form = identifierWords(name).map(singular);
    if (form.length < 2 || !form.some((w) => /^\d+$/.test(w))) continue;
    for (let i = 0; i + form.length <= words.length; i++) {
      if (!form.every((w, k) => singular(words[i + k] ?? '') === w)) continue;
      form.forEach((w, k) => {
        if (/^\d+$/.test(w)) found.add(i + k);
      });
    }
  }
  return found;
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
