/**
 * The catalog checks of the schema analysis, as pure functions of the catalog (the agents add what needs the
 * data, such as counting NULL foreign keys). Fix DDL comes from `fixes.ts`, in its lock-safe form.
 */
import type { Catalog, CatalogIndex, CatalogTable } from '../lib/catalog.js';
import { identifierWords, referenced } from '../lib/references.js';
import type { Finding } from './findings.js';
import { createIndexFix, dropIndexFix, freeRelationName, primaryKeyFix } from './fixes.js';

/** Rows from which a missing foreign key index is critical rather than a warning (scans get expensive). */
const LARGE_TABLE_ROWS = 100_000;

/** Tables, partitions left out: a partitioned table is reported once, as its parent. */
export const tablesOf = (catalog: Catalog) =>
  catalog.tables.filter((t) => t.kind === 'table' && !t.partitionOf);

/** Usage counters younger than this say nothing about an index's use over a business cycle. */
const MIN_STATS_DAYS = 7;
/** A table scanned fewer times than this since the reset has too little usage data to judge its indexes. */
const MIN_TABLE_SCANS = 1_000;

/** A plain btree index on columns only (no predicate), which can serve lookups by its leading columns. */
const usableFor = (index: CatalogIndex) =>
  index.valid && index.method === 'btree' && index.predicate === null;

/**
 * Whether `columns` lead a usable index of `table`, or of every one of its partitions (Pagila indexes each
 * partition of `payment`, not the parent: lookups are served all the same).
 */
function leadsIndex(catalog: Catalog, table: CatalogTable, columns: readonly string[]): boolean {
  const own = table.indexes.some((index) => {
    if (!usableFor(index)) return false;
    const lead = index.columns.slice(0, columns.length);
    return lead.length === columns.length && columns.every((c) => lead.includes(c));
  });
  if (own || !table.partitioned) return own;
  const partitions = catalog.tables.filter((t) => t.partitionOf === table.name);
  return partitions.length > 0 && partitions.every((p) => leadsIndex(catalog, p, columns));
}

/** Foreign keys whose columns do not lead any usable index: joins and parent deletes scan the child table. */
export function missingForeignKeyIndexes(catalog: Catalog): Finding[] {
  const findings: Finding[] = [];
  for (const table of tablesOf(catalog)) {
    for (const fk of table.constraints.filter((c) => c.kind === 'f')) {
      if (leadsIndex(catalog, table, fk.columns)) continue;
      // Two foreign keys on the same columns (to two tables) need one index: one finding, one fix.
      const id = `missing-fk-index:${table.name}.${fk.columns.join(',')}`;
      if (findings.some((f) => f.id === id)) continue;
      const target = fk.columns.join(', ');
      const parent = referenced(catalog, fk);
      findings.push({
        id,
        kind: 'missing-fk-index',
        severity: table.estimatedRows >= LARGE_TABLE_ROWS ? 'critical' : 'warning',
        table: table.name,
        target,
        message: `Foreign key ${fk.name} (${table.name}.${target} -> ${parent}) has no index: joins on it and deletes in ${parent} scan ${table.name}`,
        ...createIndexFix(
          catalog,
          table,
          freeRelationName(catalog, `${table.name}_${fk.columns.join('_')}_idx`),
          fk.columns,
        ),
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

/**
 * Duplicate indexes, btree indexes that a longer one makes redundant, and indexes never scanned. An index is only
 * called unused when the counters cover a week and its table was scanned enough, and never when it backs a
 * constraint or a foreign key; otherwise one `no-usage-data` finding says usage could not be judged yet.
 */
export function indexHealth(catalog: Catalog): Finding[] {
  const findings: Finding[] = [];
  let unjudged = 0;
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
          ...dropIndexFix(catalog, table, index),
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
          ...dropIndexFix(catalog, table, index),
        });
      }
    }
    if (!usageKnown(catalog, table)) {
      unjudged += table.indexes.filter((i) => !i.unique && !i.backsConstraint).length;
      continue;
    }
    for (const index of table.indexes) {
      if (reported.has(index.name) || index.unique || index.backsConstraint || index.scans > 0) continue;
      // An index on a foreign key serves the parent's deletes and key updates, which scans do not count.
      if (backsForeignKey(table, index)) continue;
      findings.push({
        id: `unused-index:${table.name}.${index.name}`,
        kind: 'unused-index',
        severity: 'info',
        table: table.name,
        target: index.name,
        message: `Index ${index.name} has not been scanned in ${table.scans ?? 0} scans of ${table.name} since statistics were reset (${catalog.statsSince}): check over a full business cycle before dropping it`,
      });
    }
  }
  if (unjudged > 0) {
    findings.push({
      id: `no-usage-data:${catalog.schema}`,
      kind: 'no-usage-data',
      severity: 'info',
      table: '*',
      message: `No usage data yet for ${unjudged} index(es): statistics date from ${catalog.statsSince ?? 'an unknown time'} or their tables were scanned fewer than ${MIN_TABLE_SCANS} times (a freshly loaded or restored database). Unused indexes are not judged until then`,
    });
  }
  return findings;
}

/** Whether the usage counters of `table` cover long enough and enough scans to call an index unused. */
function usageKnown(catalog: Catalog, table: CatalogTable): boolean {
  if (!catalog.statsSince) return false;
  const days = (Date.now() - Date.parse(catalog.statsSince)) / 86_400_000;
  return days >= MIN_STATS_DAYS && (table.scans ?? 0) >= MIN_TABLE_SCANS;
}

/** Whether `index` leads with the columns of one of `table`'s foreign keys. */
function backsForeignKey(table: CatalogTable, index: CatalogIndex): boolean {
  return table.constraints.some(
    (c) =>
      c.kind === 'f' &&
      c.columns.length <= index.columns.length &&
      c.columns.every((col) => index.columns.slice(0, c.columns.length).includes(col)),
  );
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
          : `${table.name} has no primary key and no unique key: duplicate rows cannot be told apart. Add one without locking the table: ADD COLUMN id bigint (no rewrite), fill it in batches from a sequence, build a unique index CONCURRENTLY, then ADD PRIMARY KEY USING INDEX (an identity column added in one statement rewrites the table under an exclusive lock)`,
        ...(unique ? primaryKeyFix(catalog, table, unique) : {}),
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
const PASCAL_CASE = /^[A-Z][a-z0-9]*([A-Z][a-z0-9]*)*$/;
const CAMEL_CASE = /^[a-z][a-z0-9]*([A-Z][a-z0-9]*)+$/;
const CONVENTIONS = { snake_case: SNAKE_CASE, PascalCase: PASCAL_CASE, camelCase: CAMEL_CASE } as const;
type Convention = keyof typeof CONVENTIONS;

/**
 * The schema's own convention: the one most of its table and column names follow. Chinook is PascalCase
 * throughout, and that is consistent; a lone snake_case column there is the drift worth reporting.
 */
function conventionOf(names: readonly string[]): Convention {
  const score = (c: Convention) => names.filter((n) => CONVENTIONS[c].test(n)).length;
  return (['snake_case', 'PascalCase', 'camelCase'] as const).reduce((best, c) =>
    score(c) > score(best) ? c : best,
  );
}

/**
 * `customerId` -> snake_case `customer_id`, PascalCase `CustomerId`, camelCase `customerId`; `"Order ID"` ->
 * `OrderId` (a space separates words too: the advice must itself follow the convention).
 */
function spell(name: string, convention: Convention): string {
  const words = identifierWords(name);
  if (convention === 'snake_case') return words.join('_');
  const pascal = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return convention === 'PascalCase' ? pascal : pascal.charAt(0).toLowerCase() + pascal.slice(1);
}

/**
 * Naming consistency: tables and columns in the schema's own convention (snake_case, PascalCase or camelCase,
 * whichever most names follow), indexes in it or in snake_case, and single-column foreign keys named
 * `<something>_id` (or `<Something>Id`).
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
  const tables = catalog.tables.filter((t) => !t.partitionOf);
  const convention = conventionOf(tables.flatMap((t) => [t.name, ...t.columns.map((c) => c.name)]));
  const follows = (name: string) => CONVENTIONS[convention].test(name);
  // PostgreSQL names constraint indexes itself (`Album_pkey`): their names say nothing of the author's.
  const authored = tables.flatMap((t) =>
    t.indexes.filter((i) => !i.backsConstraint && !i.name.startsWith(`${t.name}_`)).map((i) => i.name),
  );
  const fits = (name: string) => follows(name) || SNAKE_CASE.test(name);
  // A schema with its own index scheme (Chinook's `IFK_AlbumArtistId`) is consistent: only a minority drifts.
  const indexScheme = authored.filter(fits).length * 2 >= authored.length;
  for (const table of tables) {
    if (!follows(table.name))
      flag(table.name, undefined, `Table "${table.name}"`, `is not ${convention} like the rest`);
    for (const column of table.columns) {
      if (!follows(column.name)) {
        flag(
          table.name,
          column.name,
          `Column ${table.name}."${column.name}"`,
          `is not ${convention} like the rest (say ${spell(column.name, convention)})`,
        );
      }
    }
    for (const index of table.indexes) {
      if (indexScheme && authored.includes(index.name) && !fits(index.name))
        flag(table.name, index.name, `Index "${index.name}"`, `is not ${convention}`);
    }
    for (const fk of table.constraints.filter((c) => c.kind === 'f' && c.columns.length === 1)) {
      const [column] = fk.columns;
      if (column !== undefined && follows(column) && !/(_id|Id)$/.test(column)) {
        const suffix = convention === 'snake_case' ? '_id' : 'Id';
        flag(table.name, column, `Foreign key column ${table.name}.${column}`, `does not end in ${suffix}`);
      }
    }
  }
  return findings;
}
