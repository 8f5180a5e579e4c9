/**
 * Rules proposed from the schema's shape rather than its constraints, for databases that declare little: a
 * reference column with no foreign key (orphans), an amount that should not be negative, a creation time that
 * should not be in the future. They are checked like the others; the report marks them `source: 'profile'`, and a
 * proposal the data contradicts broadly (many negative amounts: refunds, adjustments) is dropped, not reported.
 */
import type { Catalog, CatalogTable } from '../lib/catalog.js';
import { guessReference, identifierWords } from '../lib/references.js';
import type { Rule } from './schemas.js';

/** Names of columns holding amounts, quantities or stock: negative values there are usually mistakes. */
const AMOUNT = /(^|_)(amount|total|price|cost|fee|qty|quantity|stock|balance|salary|subtotal|freight)(_|$)/;
/** Names of columns recording when something happened, which cannot be in the future (due dates can). */
const HAPPENED =
  /^(created|inserted|updated|modified|recorded|logged|occurred|paid|last_update|last_updated)(_at|_on|_date|_time)?$|^(create|update|payment|invoice|order|rental)_?date$/;

/** Whether a column name says when something happened (`created_at`, `InvoiceDate`, `last_update`). */
export function happened(name: string): boolean {
  return HAPPENED.test(identifierWords(name).join('_'));
}

/** The proposal holds when at most this share of the non-null values contradicts it; else it is dropped. */
export const PROPOSAL_TOLERANCE = 0.02;

const NUMERIC = /^(smallint|integer|bigint|numeric|real|double precision|money)/;
const INSTANT = /^(timestamp|date)/;

/** Every rule proposed for `table` of `catalog`. */
export function proposeRules(catalog: Catalog, table: CatalogTable): Rule[] {
  const rules: Rule[] = [];
  const base = { table: table.name, source: 'profile' as const, enforced: false };
  const declared = new Set(
    table.constraints.filter((c) => c.kind === 'f').flatMap((c) => (c.columns.length === 1 ? c.columns : [])),
  );
  // The table's own single-column key is what others reference; a column of a composite key (an order line's
  // order and product) is itself a reference, checked like any other.
  const pk = table.constraints.find((c) => c.kind === 'p')?.columns ?? [];
  const ownKey = pk.length === 1 ? pk : [];
  // A column with its own check constraint already has the rule its owner meant: propose nothing over it.
  const checked = new Set(
    table.constraints.filter((c) => c.kind === 'c' && c.columns.length === 1).flatMap((c) => c.columns),
  );
  for (const column of table.columns) {
    const ref =
      declared.has(column.name) || ownKey.includes(column.name)
        ? undefined
        : guessReference(catalog, table, column.name, column.type);
    if (ref) {
      rules.push({
        ...base,
        id: `orphan:${table.name}.${column.name}`,
        kind: 'orphan',
        name: `${column.name} -> ${ref.table}.${ref.column}`,
        columns: [column.name],
        description: `${column.name} exists in ${ref.table} (${ref.column}): no foreign key is declared, the names and types match`,
        refSchema: catalog.schema,
        refTable: ref.table,
        refColumns: [ref.column],
      });
    }
    if (
      NUMERIC.test(column.type) &&
      AMOUNT.test(identifierWords(column.name).join('_')) &&
      !checked.has(column.name)
    ) {
      rules.push({
        ...base,
        id: `non-negative:${table.name}.${column.name}`,
        kind: 'non-negative',
        name: `${column.name} >= 0`,
        columns: [column.name],
        description: `${column.name} is an amount: it should not be negative (proposed from its name; a CHECK would enforce it)`,
        min: 0,
      });
    }
    if (INSTANT.test(column.type) && happened(column.name) && !checked.has(column.name)) {
      rules.push({
        ...base,
        id: `not-future:${table.name}.${column.name}`,
        kind: 'not-future',
        name: `${column.name} not in the future`,
        columns: [column.name],
        description: `${column.name} records when something happened: no later than tomorrow`,
      });
    }
  }
  return rules;
}
