/**
 * Candidate queries derived from the catalog, for a database with no recorded workload: the lookups its foreign
 * keys imply. A declared foreign key whose columns lead no usable index, and a column named like another table's
 * single-column primary key or `<table>_id` of a table keyed by `id` (an implied foreign key, as in schemas that
 * declare none: `guessReference`) with no index, each give a probe `SELECT * FROM <table> WHERE <columns> = $n`.
 * Probes hold `$n` without values: they are planned generically and judged on the planner's estimates, never run.
 * Largest tables first.
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { Catalog, CatalogIndex, CatalogTable } from '../lib/catalog.js';
import { guessReference, referenced } from '../lib/references.js';
import type { Query } from './schemas.js';

/** Probes kept, largest tables first. */
const MAX_PROBES = 5;

const usable = (index: CatalogIndex) => index.valid && index.method === 'btree' && index.predicate === null;

/** Whether `columns` lead a usable index of `table`, or of each of its partitions. */
function indexed(catalog: Catalog, table: CatalogTable, columns: readonly string[]): boolean {
  const own = table.indexes.some((index) => {
    if (!usable(index)) return false;
    const lead = index.columns.slice(0, columns.length);
    return lead.length === columns.length && columns.every((c) => lead.includes(c));
  });
  if (own || !table.partitioned) return own;
  const partitions = catalog.tables.filter((t) => t.partitionOf === table.name);
  return partitions.length > 0 && partitions.every((p) => indexed(catalog, p, columns));
}

/** A lookup the catalog implies, before it becomes a query. */
interface Probe {
  readonly table: CatalogTable;
  readonly columns: readonly string[];
  readonly why: string;
}

/** The probes of `catalog`: unindexed declared foreign keys, then unindexed implied ones. */
export function catalogProbes(catalog: Catalog): Query[] {
  const tables = catalog.tables.filter((t) => t.kind === 'table' && !t.partitionOf);
  const probes: Probe[] = [];
  for (const table of tables) {
    const declared = table.constraints.filter((c) => c.kind === 'f');
    for (const fk of declared) {
      if (indexed(catalog, table, fk.columns)) continue;
      probes.push({
        table,
        columns: fk.columns,
        why: `foreign key ${fk.name} -> ${referenced(catalog, fk)} has no index`,
      });
    }
    const pk = table.constraints.find((c) => c.kind === 'p');
    for (const column of table.columns) {
      // The implied references the data validation and the query generation read too: another table's key by
      // name ("CustomerId" -> "Customer") or `<table>_id` of a table keyed by `id` ("user_id" -> "user"), same
      // type family. A bare `id` is no reference (a key-less log table's `id` named every table keyed by `id`).
      const parent = guessReference(catalog, table, column.name, column.type)?.table;
      if (parent === undefined || parent === table.name) continue;
      if (pk?.columns[0] === column.name) continue;
      if (declared.some((fk) => fk.columns.includes(column.name))) continue;
      if (indexed(catalog, table, [column.name])) continue;
      probes.push({
        table,
        columns: [column.name],
        why: `${column.name} names ${parent}'s key (no foreign key declared) and has no index`,
      });
    }
  }
  return probes
    .sort((a, b) => b.table.estimatedRows - a.table.estimatedRows || a.table.name.localeCompare(b.table.name))
    .slice(0, MAX_PROBES)
    .map((p, i) => ({
      id: `q${i + 1}`,
      name: `${p.table.name} by ${p.columns.join(', ')}: ${p.why}`,
      sql: `SELECT * FROM ${qualifiedName(catalog.schema, p.table.name)} WHERE ${p.columns
        .map((c, n) => `${quoteIdent(c)} = $${n + 1}`)
        .join(' AND ')}`,
      params: [],
      calls: 1,
      generic: true,
      schema: catalog.schema,
    }));
}
