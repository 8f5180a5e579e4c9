/**
 * Does the SQL do what the request asks? Read from the request alone (never from the generator's own reading of
 * it): the limit ("top 5"), the aggregate ("how many", "average"), the grouping ("per genre", "for each
 * country"), the values it names (a year, a status, a number, a quoted name) and the thing counted. Each must be
 * visible in the candidate's SQL or parameters; whatever is missing is a problem, so a query that silently drops
 * part of the request is never reported as an answer. The check is lexical: it can refuse a right query written
 * in an unusual way (the generator is told why and tries again), which is the safe side.
 */
import { identifierWords } from '../lib/references.js';
import { MONTHS } from './filters.js';
import type { SchemaContext } from './schema-context.js';

/** What the request requires of any query that answers it. */
export interface Requirement {
  readonly kind: 'limit' | 'superlative' | 'negation' | 'aggregate' | 'group' | 'value' | 'year' | 'entity';
  /** For messages: `top 5`, `count`, `per genre`, `'shipped'`, `2010`, `tracks`. */
  readonly what: string;
  readonly n?: number;
  readonly fn?: string;
  /** The words a grouping or an entity must show in the SQL (singular, lower case). */
  readonly words?: readonly string[];
  readonly value?: string | number;
  /** For a year or month: within it, since its start, or before it. */
  readonly mode?: 'in' | 'since' | 'before';
}

const YEAR = /^(19|20)\d\d$/;
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

const singular = (w: string) =>
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
  const raw = request.match(/[\p{L}\p{N}_-]+/gu) ?? [];
  const seen = new Set<string>();
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

/** The problems of `sql` with `params` against the requirements: empty when nothing was dropped. */
export function semanticProblems(
  requirements: readonly Requirement[],
  sql: string,
  params: readonly unknown[],
  context: SchemaContext,
): string[] {
  const text = sql.toLowerCase();
  const problems: string[] = [];
  const paramAt = (ref: string) => params[Number(ref.slice(1)) - 1];
  const hasValue = (value: string | number) =>
    params.some((p) =>
      typeof value === 'number' ? Number(p) === value : String(p).toLowerCase() === value.toLowerCase(),
    ) ||
    (typeof value === 'number'
      ? new RegExp(`(^|[^\\w$.])${value}([^\\w.]|$)`).test(text)
      : text.includes(`'${value.toLowerCase().replaceAll("'", "''")}'`));
  const identifiers = (clause: string) =>
    new Set(
      (clause.match(/"[^"]+"|[a-z_][a-z0-9_]*/gi) ?? []).flatMap((id) =>
        identifierWords(id.replaceAll('"', '')).map(singular),
      ),
    );
  const aliases = aliasTables(sql);
  for (const r of requirements) {
    switch (r.kind) {
      case 'limit': {
        const limit =
          /\blimit\s+(\$\d+|\d+)/.exec(text)?.[1] ?? /\bfetch\s+first\s+(\$\d+|\d+)/.exec(text)?.[1];
        const n = limit === undefined ? undefined : Number(limit.startsWith('$') ? paramAt(limit) : limit);
        if (n !== r.n)
          problems.push(
            `The request asks for the ${r.what} but the query does not return ${r.n} rows (LIMIT ${r.n})`,
          );
        if (!/\border\s+by\b/.test(text))
          problems.push(`The request asks for the ${r.what} but the query has no ORDER BY to rank them`);
        break;
      }
      case 'superlative': {
        const limit = /\blimit\s+(\$\d+|\d+)/.exec(text)?.[1];
        const one = limit !== undefined && Number(limit.startsWith('$') ? paramAt(limit) : limit) === 1;
        if (!(one && /\border\s+by\b/.test(text)) && !/\b(max|min)\s*\(/.test(text))
          problems.push(
            `The request asks for the ${r.what} one but the query neither ranks to one row nor takes a max() or min()`,
          );
        break;
      }
      case 'negation':
        if (!/\bnot\b|<>|!=|\bis\s+null\b|\bexcept\b/.test(text))
          problems.push(
            `The request says "${r.what}" but the query negates nothing (no NOT, <>, IS NULL or EXCEPT)`,
          );
        break;
      case 'aggregate':
        if (!new RegExp(`\\b${r.fn}\\s*\\(`).test(text))
          problems.push(`The request asks for ${r.what} but the query has no ${r.fn}()`);
        break;
      case 'group': {
        // From the SQL as written: `"BillingCountry"` only splits into its words with its case.
        const clause = /\bgroup\s+by\b([\s\S]*?)(?:\bhaving\b|\border\s+by\b|\blimit\b|$)/i.exec(sql)?.[1];
        const select = /\bselect\b([\s\S]*?)\bfrom\b/i.exec(sql)?.[1] ?? '';
        const words = r.words ?? [];
        const named = (clause: string) =>
          words.every((w) => identifiers(clause).has(w)) ||
          [...clause.matchAll(/("[^"]+"|\w+)\s*\./g)].some((m) =>
            words.every((w) =>
              identifierWords(aliases.get((m[1] ?? '').replaceAll('"', '').toLowerCase()) ?? '')
                .map(singular)
                .includes(w),
            ),
          );
        const ok = clause !== undefined && (named(clause) || (/^\s*\d/.test(clause) && named(select)));
        if (!ok)
          problems.push(`The request groups ${r.what} but the query has no GROUP BY on ${words.join(' ')}`);
        break;
      }
      case 'entity': {
        // What is counted: the rows of the first FROM table, or of the table a count(alias...) names.
        const counted = [
          firstFrom(sql),
          ...[...text.matchAll(/\bcount\s*\(\s*(?:distinct\s+)?("[^"]+"|\w+)\s*\./g)].map((m) =>
            aliases.get((m[1] ?? '').replaceAll('"', '')),
          ),
        ];
        const want = (r.words ?? []).map(singular).join('_');
        if (!counted.some((t) => t !== undefined && identifierWords(t).map(singular).join('_') === want))
          problems.push(`The request counts ${r.what} but the query counts the rows of another table`);
        break;
      }
      case 'year': {
        // A year (2021) or a month (2021-03): as a value, on a date column, with bounds that fit the words.
        const period = String(r.value);
        const inParams =
          params.some((p) => String(p) === period || String(p).startsWith(`${period}-`)) ||
          text.includes(period);
        const instants = context.tables.flatMap((t) =>
          t.columns.filter((c) => /^(timestamp|date)/.test(c.type)).map((c) => c.name.toLowerCase()),
        );
        const onDate = instants.some((c) => identifiersIn(text).has(c));
        const bounded =
          r.mode === 'since'
            ? />=?/.test(text)
            : r.mode === 'before'
              ? /<[^>]/.test(text)
              : /\bbetween\b|\bextract\b|\bdate_part\b|\bdate_trunc\b/.test(text) ||
                (/>=/.test(text) && /<[^>=]/.test(text)) ||
                /=/.test(text);
        if (!inParams || !onDate || !bounded)
          problems.push(`The request names ${r.what} but the query does not filter a date column on it`);
        break;
      }
      case 'value':
        if (!hasValue(r.value as string | number))
          problems.push(`The request names ${r.what} but the query does not use it`);
        break;
    }
  }
  return problems;
}

/** Identifiers of `text` as written (quotes taken off, lower case). */
function identifiersIn(text: string): Set<string> {
  return new Set((text.match(/"[^"]+"|[a-z_][a-z0-9_]*/g) ?? []).map((id) => id.replaceAll('"', '')));
}

/** The first table of the FROM clause. */
function firstFrom(sql: string): string | undefined {
  return /\bfrom\s+(?:(?:"[^"]+"|\w+)\s*\.\s*)?("[^"]+"|\w+)/i.exec(sql)?.[1]?.replaceAll('"', '');
}

/** The tables of the FROM and JOIN clauses, by alias (and by their own name). */
function aliasTables(sql: string): Map<string, string> {
  const map = new Map<string, string>();
  const pattern =
    /\b(?:from|join)\s+(?:(?:"[^"]+"|\w+)\s*\.\s*)?("[^"]+"|\w+)(?:\s+(?:as\s+)?(?!on\b|where\b|left\b|right\b|inner\b|full\b|cross\b|join\b|group\b|order\b|limit\b|using\b)("[^"]+"|\w+))?/gi;
  for (const m of sql.matchAll(pattern)) {
    const table = (m[1] ?? '').replaceAll('"', '');
    map.set(table.toLowerCase(), table);
    if (m[2]) map.set(m[2].replaceAll('"', '').toLowerCase(), table);
  }
  return map;
}
