/**
 * The filters a request states: a value of a column ("shipped", "FR"), an id after a table ("customer 42"), or a
 * comparison after a column ("price over 100"). Values become parameters; nothing here builds SQL.
 */
import { identifierWords } from '../lib/references.js';
import type { ContextTable } from './schema-context.js';
import { columnAt, NUMBER, type Word } from './vocabulary.js';

/** A condition on a column, with its value (always sent as a parameter). */
export interface Filter {
  readonly table: string;
  readonly column: string;
  /**
   * `year`/`month`: the column (a date or timestamp) falls in the calendar year `value` (2021) or month
   * (`2021-03-01`); `since`/`before`: from or before the start of that year or month.
   */
  readonly op: '=' | '>' | '<' | '>=' | '<=' | 'year' | 'month' | 'since' | 'before';
  readonly value: string | number;
}

/** A number that reads as a year, and the words that introduce one ("in 2010", "since 2021"). */
const YEAR = /^(19|20)\d\d$/;
const YEAR_WORDS = ['in', 'during', 'for', 'of', 'year'];
const SINCE_WORDS = ['since', 'from', 'after'];
const BEFORE_WORDS = ['before', 'until'];
/** Month names, for "in March 2021". */
export const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const INSTANT = /^(timestamp|date)/;

const COMPARISONS: Record<string, Filter['op']> = {
  over: '>',
  above: '>',
  exceeding: '>',
  more: '>',
  greater: '>',
  '>': '>',
  under: '<',
  below: '<',
  less: '<',
  fewer: '<',
  '<': '<',
  least: '>=',
  '>=': '>=',
  most: '<=',
  '<=': '<=',
  equal: '=',
  '=': '=',
};

/** Value, id and comparison filters on the main table (and the tables it references). */
export function readFilters(
  words: Word[],
  tables: readonly ContextTable[],
  main: string,
  parents: readonly string[],
  mentions: readonly { table: string; start: number }[],
): Filter[] {
  const filters: Filter[] = [];
  const mainTable = tables.find((t) => t.name === main) as ContextTable;
  // A year first: "invoices in 2010" is a date range, never the invoice with id 2010.
  words.forEach((word, i) => {
    if (word.used || !YEAR.test(word.raw)) return;
    const month = MONTHS.indexOf(words[i - 1]?.norm ?? '');
    const lead = words[month === -1 ? i - 1 : i - 2]?.norm ?? '';
    const op = SINCE_WORDS.includes(lead)
      ? 'since'
      : BEFORE_WORDS.includes(lead)
        ? 'before'
        : YEAR_WORDS.includes(lead) || month !== -1
          ? month === -1
            ? 'year'
            : 'month'
          : undefined;
    const column = dateColumn(mainTable);
    if (!op) return;
    // A year with no date to put it on is still a year: never the row with that id.
    word.used = true;
    if (!column) return;
    const start = `${word.raw}-${String(month === -1 ? 1 : month + 1).padStart(2, '0')}-01`;
    filters.push({ table: main, column, op, value: op === 'year' ? Number(word.raw) : start });
    if (month !== -1) (words[i - 1] as Word).used = true;
  });
  for (const m of mentions) {
    const id = words.find((w, k) => k > m.start && k <= m.start + 2 && NUMBER.test(w.raw) && !w.used);
    if (!id) continue;
    const fk = mainTable.foreignKeys.find((f) => f.refTable === m.table && f.columns.length === 1);
    if (m.table === main && mainTable.primaryKey.length === 1) {
      filters.push({
        table: main,
        column: mainTable.primaryKey[0] as string,
        op: '=',
        value: Number(id.raw),
      });
    } else if (fk)
      filters.push({ table: main, column: fk.columns[0] as string, op: '=', value: Number(id.raw) });
    else continue;
    id.used = true;
  }
  const candidates = [main, ...parents].map((n) => tables.find((t) => t.name === n) as ContextTable);
  words.forEach((word, i) => {
    if (word.used) return;
    for (const table of candidates) {
      const column = table.columns.find((c) =>
        c.values.some((v) => v.toLowerCase() === word.raw.toLowerCase()),
      );
      if (column) {
        const value = column.values.find((v) => v.toLowerCase() === word.raw.toLowerCase()) as string;
        filters.push({ table: table.name, column: column.name, op: '=', value });
        word.used = true;
        return;
      }
    }
    const column = columnAt(words, i, candidates);
    if (!column) return;
    const table = candidates.find((t) => t.columns.some((c) => c.name === column)) as ContextTable;
    for (let k = i + 1; k <= i + 4 && k < words.length; k++) {
      const op = COMPARISONS[words[k]!.norm];
      const value = words
        .slice(k + 1, k + 3)
        .find((w) => NUMBER.test(w.raw) || /^\d{4}-\d{2}-\d{2}$/.test(w.raw));
      if (op && value && !value.used) {
        filters.push({
          table: table.name,
          column,
          op,
          value: NUMBER.test(value.raw) ? Number(value.raw) : value.raw,
        });
        value.used = true;
        return;
      }
    }
  });
  return filters;
}

/**
 * The date column a year is about: one named like a date of the event (`invoice_date`, `created_at`), else the
 * first. Never the row's bookkeeping (`last_update`, `updated_at`): "films in 2006" are not the rows edited then,
 * and with no other date the request is better left unanswered than answered with that.
 */
function dateColumn(table: ContextTable): string | undefined {
  const dates = table.columns.filter(
    (c) =>
      INSTANT.test(c.type) &&
      !/^(last_)?(update|modifie|change)d?(_(at|on|date|time))?$/.test(identifierWords(c.name).join('_')),
  );
  return (dates.find((c) => /date|created|_at$|At$/i.test(c.name)) ?? dates[0])?.name;
}
