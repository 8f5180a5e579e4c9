/**
 * References no foreign key declares: many databases (loaded from dumps, or kept by an ORM) name their keys well
 * and declare nothing. A column named like another table's single-column primary key (`customer_id`,
 * `CustomerId`), or `<table>_id` of a table keyed by `id`, with a key type of the same family, is taken as a
 * reference: the data validation checks it for orphans, the query generation joins along it.
 */
import type { Catalog, CatalogTable } from './catalog.js';

/**
 * The words of an identifier, folded: `CustomerId`, `customer_id` and `"Customer Id"` are all [customer, id].
 * Quoted names may hold spaces, hyphens or dots (Northwind's `"Unit Price"`): every non-alphanumeric separates.
 */
export function identifierWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** `customers`, `customer` and `Customer` all give `customer`. */
function singular(word: string): string {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(ss|us)$/.test(word)) return word;
  if (/(xes|ches|shes|sses)$/.test(word)) return word.slice(0, -2);
  return word.endsWith('s') ? word.slice(0, -1) : word;
}

/** Comparable type families: an `integer` column can reference a `bigint` key, `varchar` a `text` one. */
function family(type: string): string {
  if (/^(smallint|integer|bigint)/.test(type)) return 'int';
  if (/^(text|character|varchar|bpchar|citext)/.test(type)) return 'text';
  return type;
}

/**
 * The table and key column a column seems to reference without a declared foreign key: its name is another
 * table's single-column primary key (`customer_id`, `CustomerId`), or `<table>_id` of a table keyed by `id`, and
 * the types are of one family.
 */
export function guessReference(
  catalog: Catalog,
  self: CatalogTable,
  column: string,
  type: string,
): { table: string; column: string } | undefined {
  const name = identifierWords(column);
  if (name.length < 2 || name[name.length - 1] !== 'id') return undefined;
  const subject = name.slice(0, -1).map(singular).join('_');
  for (const other of catalog.tables) {
    if (other.kind !== 'table' || other.partitionOf) continue;
    const pk = other.constraints.find((c) => c.kind === 'p')?.columns;
    if (pk?.length !== 1) continue;
    const key = pk[0] as string;
    const keyType = other.columns.find((c) => c.name === key)?.type ?? '';
    if (family(keyType) !== family(type)) continue;
    const sameName = identifierWords(key).join('_') === name.join('_') && other.name !== self.name;
    const byTable =
      identifierWords(key).join('_') === 'id' &&
      identifierWords(other.name).map(singular).join('_') === subject;
    if (sameName || byTable) return { table: other.name, column: key };
  }
  return undefined;
}

/**
 * The table a foreign key references, as a message names it: with its schema when that is another one (`sales` may
 * reference `public.products`, and `customers` may be a table of three schemas).
 */
export function referenced(
  catalog: Catalog,
  fk: { readonly refSchema: string | null; readonly refTable: string | null },
): string {
  return fk.refSchema && fk.refSchema !== catalog.schema
    ? `${fk.refSchema}.${fk.refTable}`
    : String(fk.refTable);
}
