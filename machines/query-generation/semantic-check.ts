/**
 * Whether a candidate's SQL and parameters show every {@link Requirement} of its request: a lexical reading of
 * the SQL (clauses, identifiers split into words, aliases mapped to their tables, parameters by position). What it
 * cannot see is a problem: a right query written in an unusual way is refused and tried again, never the reverse.
 */
import { identifierWords } from '../lib/references.js';
import { ordinalProblem } from './ordinals.js';
import { type Requirement, singular } from './requirement.js';
import type { SchemaContext } from './schema-context.js';

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
  // A text value may also be matched as a LIKE pattern around it ('%France%'), as a query writer often does.
  const bare = (s: string) => s.replace(/^%|%$/g, '');
  // What a query filters with: its string literals and parameters, except in comments, in a SELECT list (a label,
  // not a filter) and under a negation (`<> 'France'` excludes the value the request names).
  const negated = /(?:<>|!=|\bnot\s+i?like)\s*$/;
  const filtering = text
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\bselect\b[\s\S]*?\bfrom\b/g, ' from ')
    .replace(/\bnot\s+in\s*\([^)]*\)/g, ' ');
  const literals = [...filtering.matchAll(/'((?:[^']|'')*)'/g)]
    .filter((m) => !negated.test(filtering.slice(0, m.index)))
    .map((m) => (m[1] ?? '').replaceAll("''", "'"));
  const used = new Set(
    [...filtering.matchAll(/\$(\d+)/g)]
      .filter((m) => !negated.test(filtering.slice(0, m.index)))
      .map((m) => Number(m[1]) - 1),
  );
  const filterParams = params.filter((_, i) => used.has(i));
  const hasValue = (value: string | number) =>
    typeof value === 'number'
      ? params.some((p) => Number(p) === value) || new RegExp(`(^|[^\\w$.])${value}([^\\w.]|$)`).test(text)
      : [...filterParams.map((p) => String(p).toLowerCase()), ...literals].some(
          (t) => bare(t) === value.toLowerCase(),
        );
  const texts = [...filterParams.map((p) => String(p).toLowerCase()), ...literals];
  const listed = new Set(
    context.tables.flatMap((t) => t.columns.flatMap((c) => c.values)).map((v) => v.toLowerCase()),
  );
  // A named value: a word of a text ("Rio" in 'Rio de Janeiro'), or a value a column lists (France stored as 'FR').
  const hasName = (value: string) => {
    const word = new RegExp(
      `(^|[^\\p{L}\\p{N}])${value.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}\\p{N}])`,
      'u',
    );
    return texts.some((t) => word.test(t) || listed.has(bare(t)));
  };
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
      case 'ordinal': {
        const problem = ordinalProblem({ what: r.what, n: r.n ?? 1, table: r.table ?? '' }, sql, params);
        if (problem) problems.push(problem);
        break;
      }
      case 'value':
        if (r.named ? !hasName(String(r.value)) : !hasValue(r.value as string | number))
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
