/**
 * The catalog checks of the schema analysis, as pure functions of the catalog (the agents add what needs the
 * data, such as counting NULL foreign keys). Fix DDL names objects through `quoteIdent` only.
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { Catalog, CatalogIndex, CatalogTable } from '../lib/catalog.js';
import type { Finding } from './findings.js';

/** Rows from which a missing foreign key index is critical rather than a warning (scans get expensive). */
const LARGE_TABLE_ROWS = 100_000;

const tablesOf = (catalog: Catalog) => catalog.tables.filter((t) => t.kind === 'table');
const cols = (columns: readonly string[]) => columns.map(quoteIdent).join(', ');

/** A plain btree index on columns only (no predicate), which can serve lookups by its leading columns. */
const usableFor = (index: CatalogIndex) =>
  index.valid && index.method === 'btree' && index.predicate === null;

/** Foreign keys whose columns do not lead any usable index: joins and parent deletes scan the child table. */
export function missingForeignKeyIndexes(catalog: Catalog): Finding[] {
  const findings: Finding[] = [];
  for (const table of tablesOf(catalog)) {
    for (const fk of table.constraints.filter((c) => c.kind === 'f')) {
      const covered = table.indexes.some((index) => {
        if (!usableFor(index)) return false;
        const lead = index.columns.slice(0, fk.columns.length);
        return lead.length === fk.columns.length && fk.columns.every((c) => lead.includes(c));
      });
      if (covered) continue;
      const target = fk.columns.join(', ');
      findings.push({
        id: `missing-fk-index:${table.name}.${fk.columns.join(',')}`,
        kind: 'missing-fk-index',
        severity: table.estimatedRows >= LARGE_TABLE_ROWS ? 'critical' : 'warning',
        table: table.name,
        target,
        message: `Foreign key ${fk.name} (${table.name}.${target} -> ${fk.refTable}) has no index: joins on it and deletes in ${fk.refTable} scan ${table.name}`,
        fix: `CREATE INDEX ${quoteIdent(`${table.name}_${fk.columns.join('_')}_idx`)} ON ${qualifiedName(catalog.schema, table.name)} (${cols(fk.columns)})`,
      });
    }
  }
  return findings;
}

/** What makes two indexes interchangeable: method, key columns and predicate. */
const signature = (index: CatalogIndex) => JSON.stringify([index.method, index.columns, index.predicate]);

/**
 * Which of equivalent indexes to keep: one a constraint uses, else a unique one, else the most scanned, else one
 * named by the `<table>_...` convention, else the first by name.
 */
function keepOrder(table: string) {
  const rank = (index: CatalogIndex) => (index.backsConstraint ? 0 : index.unique ? 1 : 2);
  const conventional = (index: CatalogIndex) => (index.name.startsWith(`${table}_`) ? 0 : 1);
  return (a: CatalogIndex, b: CatalogIndex) =>
    rank(a) - rank(b) ||
    b.scans - a.scans ||
    conventional(a) - conventional(b) ||
    a.name.localeCompare(b.name);
}

/** Duplicate indexes, btree indexes that a longer one makes redundant, and indexes never scanned. */
export function indexHealth(catalog: Catalog): Finding[] {
  const findings: Finding[] = [];
  for (const table of tablesOf(catalog)) {
    const reported = new Set<string>();
    const groups = new Map<string, CatalogIndex[]>();
    for (const index of table.indexes)
      groups.set(signature(index), [...(groups.get(signature(index)) ?? []), index]);
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const [keep, ...extra] = [...group].sort(keepOrder(table.name));
      for (const index of extra) {
        if (index.backsConstraint) continue;
        reported.add(index.name);
        findings.push({
          id: `duplicate-index:${table.name}.${index.name}`,
          kind: 'duplicate-index',
          severity: 'warning',
          table: table.name,
          target: index.name,
          message: `Index ${index.name} duplicates ${keep?.name} (${index.columns.join(', ')}): it slows every write and saves nothing`,
          fix: `DROP INDEX ${qualifiedName(catalog.schema, index.name)}`,
        });
      }
    }
    for (const index of table.indexes) {
      if (reported.has(index.name) || index.unique || index.backsConstraint || !usableFor(index)) continue;
      const longer = table.indexes.find(
        (other) =>
          other.name !== index.name &&
          usableFor(other) &&
          other.columns.length > index.columns.length &&
          index.columns.every((c, i) => other.columns[i] === c),
      );
      if (longer) {
        reported.add(index.name);
        findings.push({
          id: `redundant-index:${table.name}.${index.name}`,
          kind: 'redundant-index',
          severity: 'info',
          table: table.name,
          target: index.name,
          message: `Index ${index.name} is a prefix of ${longer.name}, which serves the same lookups`,
          fix: `DROP INDEX ${qualifiedName(catalog.schema, index.name)}`,
        });
      }
    }
    for (const index of table.indexes) {
      if (reported.has(index.name) || index.unique || index.backsConstraint || index.scans > 0) continue;
      findings.push({
        id: `unused-index:${table.name}.${index.name}`,
        kind: 'unused-index',
        severity: 'info',
        table: table.name,
        target: index.name,
        message: `Index ${index.name} has not been scanned since statistics were reset: check over a full business cycle before dropping it`,
      });
    }
  }
  return findings;
}

/** Tables without a primary key: rows cannot be addressed one by one, and logical replication refuses updates. */
export function missingPrimaryKeys(catalog: Catalog): Finding[] {
  return tablesOf(catalog)
    .filter((table) => !table.constraints.some((c) => c.kind === 'p'))
    .map((table): Finding => {
      const unique = uniqueNotNullColumns(table);
      return {
        id: `missing-primary-key:${table.name}`,
        kind: 'missing-primary-key',
        severity: unique ? 'warning' : 'critical',
        table: table.name,
        message: unique
          ? `${table.name} has no primary key, but its unique NOT NULL key (${unique.join(', ')}) could become one`
          : `${table.name} has no primary key and no unique key: duplicate rows cannot be told apart`,
        fix: unique
          ? `ALTER TABLE ${qualifiedName(catalog.schema, table.name)} ADD PRIMARY KEY (${cols(unique)})`
          : `ALTER TABLE ${qualifiedName(catalog.schema, table.name)} ADD COLUMN ${quoteIdent('id')} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`,
      };
    });
}

function uniqueNotNullColumns(table: CatalogTable): string[] | undefined {
  const notNull = new Set(table.columns.filter((c) => !c.nullable).map((c) => c.name));
  return table.constraints.find((c) => c.kind === 'u' && c.columns.every((col) => notNull.has(col)))?.columns;
}

/** Foreign key columns that allow NULL, as `[table, columns]` pairs (the agent counts the NULL rows). */
export function nullableForeignKeyColumns(
  catalog: Catalog,
): { table: CatalogTable; columns: string[]; constraint: string }[] {
  const out: { table: CatalogTable; columns: string[]; constraint: string }[] = [];
  for (const table of tablesOf(catalog)) {
    for (const fk of table.constraints.filter((c) => c.kind === 'f')) {
      const nullable = fk.columns.filter((name) => table.columns.find((c) => c.name === name)?.nullable);
      if (nullable.length > 0) out.push({ table, columns: nullable, constraint: fk.name });
    }
  }
  return out;
}

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/**
 * Naming consistency: tables, columns and indexes in snake_case (anything else must be quoted in every query,
 * forever), and single-column foreign keys named `<something>_id`.
 */
export function naming(catalog: Catalog): Finding[] {
  const findings: Finding[] = [];
  const flag = (table: string, target: string | undefined, what: string, message: string) =>
    findings.push({
      id: `naming:${table}${target === undefined ? '' : `.${target}`}`,
      kind: 'naming',
      severity: 'info',
      table,
      ...(target === undefined ? {} : { target }),
      message: `${what} ${message}`,
    });
  for (const table of catalog.tables) {
    if (!SNAKE_CASE.test(table.name))
      flag(table.name, undefined, `Table "${table.name}"`, 'is not snake_case');
    for (const column of table.columns) {
      if (!SNAKE_CASE.test(column.name)) {
        const suggestion = column.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
        flag(
          table.name,
          column.name,
          `Column ${table.name}."${column.name}"`,
          `is not snake_case (say ${suggestion})`,
        );
      }
    }
    for (const index of table.indexes) {
      if (!SNAKE_CASE.test(index.name))
        flag(table.name, index.name, `Index "${index.name}"`, 'is not snake_case');
    }
    for (const fk of table.constraints.filter((c) => c.kind === 'f' && c.columns.length === 1)) {
      const [column] = fk.columns;
      if (column !== undefined && SNAKE_CASE.test(column) && !column.endsWith('_id')) {
        flag(table.name, column, `Foreign key column ${table.name}.${column}`, 'does not end in _id');
      }
    }
  }
  return findings;
}
