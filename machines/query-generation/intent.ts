/**
 * Reads a request in plain English against a schema: which table it is about, which columns and values it names,
 * and what it asks for (a count, an aggregate by a column, a top-N, a list, possibly joined along a foreign key).
 * Names are matched by their words (`order items` is `order_items`, plurals folded), values against enum labels
 * and the most common values of each column. Nothing here builds SQL.
 */
import { type Filter, readFilters } from './filters.js';
import type { ContextForeignKey, ContextTable, SchemaContext } from './schema-context.js';
import { columnAt, mentionsOf, NUMBER, singular, type Word } from './vocabulary.js';

export { singular } from './vocabulary.js';

/** A foreign key path between the main table and another: `from.columns` reference `to.refColumns`. */
export interface Link extends ContextForeignKey {
  readonly from: string;
  readonly to: string;
}

/** An aggregate: `count(*)`, or a function of a column. */
export type Metric =
  | { readonly fn: 'count'; readonly table?: string }
  | { readonly fn: 'sum' | 'avg' | 'min' | 'max'; readonly table: string; readonly column: string };

/** What a request asks for. */
export interface Intent {
  readonly kind: 'count' | 'aggregate' | 'top' | 'list';
  /** The main table. */
  readonly table: string;
  readonly filters: Filter[];
  /** Aggregate by a column (of the main table or one it references), or by a referenced table's rows. */
  readonly group?: { readonly table: string; readonly column: string | null };
  readonly metric?: Metric;
  /** For `top` and superlatives: order by a column of the main table. */
  readonly order?: { readonly column: string; readonly direction: 'asc' | 'desc' };
  /** Another table named in the request, joined along a foreign key. */
  readonly related?: string;
  readonly limit: number | null;
}

const AGGREGATES: Record<string, Metric['fn']> = {
  count: 'count',
  number: 'count',
  many: 'count',
  total: 'sum',
  sum: 'sum',
  average: 'avg',
  avg: 'avg',
  mean: 'avg',
  maximum: 'max',
  max: 'max',
  highest: 'max',
  minimum: 'min',
  min: 'min',
  lowest: 'min',
};
const SUPERLATIVES: Record<string, { words: RegExp; direction: 'asc' | 'desc' }> = {
  expensive: { words: /price|cost|amount/, direction: 'desc' },
  cheapest: { words: /price|cost|amount/, direction: 'asc' },
  latest: { words: /_at$|date|time/, direction: 'desc' },
  newest: { words: /_at$|date|time/, direction: 'desc' },
  recent: { words: /_at$|date|time/, direction: 'desc' },
  oldest: { words: /_at$|date|time/, direction: 'asc' },
};
/**
 * Reads the intent of `context.request`. Returns `undefined` when no table of the schema is named (the
 * generator then says so, and the check turns that into feedback).
 */
export function readIntent(context: SchemaContext): Intent | undefined {
  const words: Word[] = (context.request.match(/"[^"]*"|'[^']*'|[<>]=?|=|[\p{L}\p{N}_.:-]+/gu) ?? []).map(
    (raw) => {
      const clean = raw.replace(/^["']|["']$/g, '').replace(/[.:]+$/, '');
      return { raw: clean, norm: singular(clean.toLowerCase()), used: false };
    },
  );
  const tables = context.tables;
  const find = (name: string) => tables.find((t) => t.name === name) as ContextTable;
  const mentions = mentionsOf(words, tables);
  const main = mentions[0]?.table;
  if (main === undefined) return undefined;
  const at = (i: number) => words[i]?.norm;
  const indexOf = (...norms: string[]) => words.findIndex((w) => norms.includes(w.norm));
  const links = linksOf(tables, main);
  const parents = links.filter((l) => l.from === main).map((l) => l.to);
  const columnOf = (i: number, among: readonly string[]) => columnAt(words, i, among.map(find));

  const filters = readFilters(words, tables, main, parents, mentions);
  const topAt = indexOf('top');
  const byAt = indexOf('by', 'per', 'each');
  const aggAt = words.findIndex((w) => w.norm in AGGREGATES && !w.used);
  // "top 5 ...", "first 10 ...", or a number a few words before the table ("5 most expensive products").
  const start = mentions[0]?.start ?? 0;
  const leading = words.slice(Math.max(0, start - 3), start).find((w) => NUMBER.test(w.raw));
  const afterWord = (i: number) => (i !== -1 && NUMBER.test(at(i + 1) ?? '') ? Number(at(i + 1)) : undefined);
  const limitWord = afterWord(topAt) ?? afterWord(indexOf('first')) ?? (leading ? Number(leading.raw) : null);
  const superlative = words.find((w) => w.norm in SUPERLATIVES);
  const after = (i: number) => {
    let k = i + 1;
    while (['the', 'number', 'of', 'count', 'total', 'amount', 'their'].includes(at(k) ?? '')) k++;
    return k;
  };

  if (topAt !== -1 || superlative) {
    const limit = limitWord ?? 10;
    // "by total" names a column, "by the number of orders" a table: try right after `by`, then past the fillers.
    for (const k of byAt === -1 ? [] : [byAt + 1, after(byAt)]) {
      const child = mentions.find((m) => m.start === k && m.table !== main);
      if (child && links.some((l) => l.from === child.table && l.to === main)) {
        return { kind: 'top', table: main, filters, metric: { fn: 'count', table: child.table }, limit };
      }
      const own = columnOf(k, [main]);
      if (own) return { kind: 'top', table: main, filters, order: { column: own, direction: 'desc' }, limit };
      for (const c of links.filter((l) => l.to === main).map((l) => l.from)) {
        const column = columnOf(k, [c]);
        if (column)
          return { kind: 'top', table: main, filters, metric: { fn: 'sum', table: c, column }, limit };
      }
    }
    if (superlative) {
      const rule = SUPERLATIVES[superlative.norm]!;
      const column = find(main).columns.find((c) => rule.words.test(c.name))?.name;
      if (column)
        return { kind: 'top', table: main, filters, order: { column, direction: rule.direction }, limit };
    }
  }

  // "tracks per genre", "customers by country": a count per group even without "number of". "sorted by" is an
  // ordering; read as written, since the folded word of "Orders" (a table) is "order" too.
  const sortedBy =
    at(byAt) === 'by' &&
    ['sorted', 'ordered', 'order', 'sort'].includes(words[byAt - 1]?.raw.toLowerCase() ?? '');
  const grouped = aggAt === -1 && byAt !== -1 && topAt === -1 && !sortedBy;
  if (aggAt !== -1 || grouped) {
    const fn = aggAt === -1 ? 'count' : AGGREGATES[words[aggAt]!.norm]!;
    let metric: Metric = { fn: 'count' };
    if (fn !== 'count') {
      for (let k = aggAt + 1; k <= aggAt + 3 && metric.fn === 'count'; k++) {
        for (const table of [main, ...parents]) {
          const column = columnOf(k, [table]);
          if (column) {
            metric = { fn, table, column };
            break;
          }
        }
      }
      // "total of invoices": no column named, the table's own amount is meant.
      const amount = find(main).columns.find((c) => /^(total|amount)$/i.test(c.name));
      if (metric.fn === 'count' && fn === 'sum' && amount) metric = { fn, table: main, column: amount.name };
    }
    if (byAt !== -1) {
      const k = after(byAt);
      const byTable = mentions.find((m) => m.start === k && parents.includes(m.table));
      if (byTable)
        return {
          kind: 'aggregate',
          table: main,
          filters,
          metric,
          group: { table: byTable.table, column: null },
          limit: null,
        };
      for (const table of [main, ...parents]) {
        const column = columnOf(k, [table]);
        if (column)
          return { kind: 'aggregate', table: main, filters, metric, group: { table, column }, limit: null };
      }
    }
    return { kind: metric.fn === 'count' ? 'count' : 'aggregate', table: main, filters, metric, limit: null };
  }

  const related = mentions.find(
    (m) => m.table !== main && links.some((l) => l.from === m.table || l.to === m.table),
  );
  return {
    kind: 'list',
    table: main,
    filters,
    ...(related ? { related: related.table } : {}),
    limit: limitWord,
  };
}

/** Foreign keys between `main` and the other tables, both ways. */
export function linksOf(tables: readonly ContextTable[], main: string): Link[] {
  return tables.flatMap((t) =>
    t.foreignKeys
      .filter((fk) => t.name === main || fk.refTable === main)
      .map((fk) => ({ ...fk, from: t.name, to: fk.refTable })),
  );
}
