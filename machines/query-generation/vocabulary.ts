/**
 * The request's words and how they name the schema: plurals folded, identifiers split into words (`order_items`
 * is "order items", `customerId` is "customer id"), table mentions found longest first.
 */
import type { ContextTable } from './schema-context.js';

/** A word of the request: as written, folded (lower case, singular), and whether a mention took it. */
export interface Word {
  readonly raw: string;
  readonly norm: string;
  used: boolean;
}

/** A number as the request writes it. */
export const NUMBER = /^\d+(\.\d+)?$/;

/** A word's singular, roughly (orders -> order, categories -> category, statuses -> status). */
export function singular(word: string): string {
  if (/ies$/.test(word) && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(ss|us|is)$/.test(word)) return word;
  if (/(sses|xes|ches|shes|uses)$/.test(word)) return word.slice(0, -2);
  if (/s$/.test(word) && word.length > 3) return word.slice(0, -1);
  return word;
}

/** The words of an identifier: `order_items` -> [order, item], `customerId` -> [customer, id]. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_\s]+/)
    .filter(Boolean)
    .map(singular);
}

/** Table names in the request, in order, each with where it starts (longest name first, words used once). */
export function mentionsOf(words: Word[], tables: readonly ContextTable[]) {
  // A table's full name beats another's last word ("tracks" is Track, not PlaylistTrack); a view is named by
  // its full name only (InvoiceTotals is not "total"), and so is a table whose last word is a number: the 2022 of
  // `city_log_2022` would take the year of "rentals in 2022".
  const forms = tables.flatMap((t) => {
    const full = wordsOf(t.name);
    const tail = full[full.length - 1] as string;
    const last = full.length > 1 && t.kind === 'table' && /\p{L}/u.test(tail) ? [[tail]] : [];
    return [full, ...last].map((form, i) => ({ table: t.name, form, partial: i > 0 }));
  });
  forms.sort((a, b) => b.form.length - a.form.length || Number(a.partial) - Number(b.partial));
  const found: { table: string; start: number }[] = [];
  for (const { table, form } of forms) {
    for (let i = 0; i + form.length <= words.length; i++) {
      const span = words.slice(i, i + form.length);
      if (span.some((w) => w.used) || !span.every((w, k) => w.norm === form[k])) continue;
      for (const w of span) w.used = true;
      found.push({ table, start: i });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/** The column of one of `tables` named at word `i` (its full name, or its last word when unambiguous). */
export function columnAt(
  words: readonly Word[],
  i: number,
  tables: readonly ContextTable[],
): string | undefined {
  for (const table of tables) {
    for (const column of table.columns) {
      const form = wordsOf(column.name);
      if (form.every((f, k) => words[i + k]?.norm === f)) return column.name;
    }
    const byLast = table.columns.filter((c) => {
      const form = wordsOf(c.name);
      const last = form[form.length - 1] as string;
      return form.length > 1 && !GENERIC.includes(last) && last === words[i]?.norm;
    });
    if (byLast.length === 1) return byLast[0]?.name;
  }
  return undefined;
}

/** Last words too common to name a column alone (`customer_id` is not "id"). */
const GENERIC = ['id', 'at'];
