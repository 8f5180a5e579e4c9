/**
 * Index proposals read from measured plans: a sequential scan whose filter throws most rows away wants an index
 * on the filtered columns (equalities first, then one range), and when a sort on the same table sits above it, a
 * second proposal adds the sort key. Columns are read from the plan's filter with PostgreSQL's parser (so
 * `(code)::text = $1`, a varchar column compared as text, is a column too) and kept only when the catalog has
 * them; proposals an existing index already covers are dropped. A scan of a partition proposes an index on its
 * partitioned parent (one index for every partition, made lock-safe). The trial decides which help.
 */
import type { Catalog, CatalogTable } from '../lib/catalog.js';
import { loadParser, type PgNode, parseSql, strings, walk } from '../lib/pg-parser.js';
import { freeName, relationNames } from '../lib/relation-names.js';
import { indexDdl, lockSafeIndexDdl } from './measure.js';
import type { Baseline, Proposal } from './schemas.js';

/** A scan is worth an index when its filter throws away at least this many rows per row kept. */
const SELECTIVITY = 4;
/** ... and at least this many rows in all (tiny tables scan faster than they look up an index). */
const MIN_REMOVED = 200;
const EQUALITY = ['='];
const RANGE = ['<', '>', '<=', '>='];

/** Proposes indexes for the measured queries. */
export async function proposeIndexes(
  baselines: readonly Baseline[],
  catalog: Catalog,
): Promise<{ proposals: Proposal[]; notes: string[] }> {
  await loadParser();
  const proposals: Proposal[] = [];
  const notes: string[] = [];
  // Not only index names: a table or sequence named like a proposed index makes its IF NOT EXISTS build nothing.
  const taken = relationNames(catalog);
  const seen = new Set<string>();
  for (const { query, measure } of baselines) {
    const nodes = measure.nodes;
    nodes.forEach((node, i) => {
      if (node.nodeType !== 'Seq Scan' || node.relation === null || node.filter === null) return;
      if (node.schema !== null && node.schema !== catalog.schema) return;
      const scanned = catalog.tables.find((t) => t.name === node.relation && t.kind === 'table');
      // A partition's scan asks for an index on its parent: indexes of partitioned tables cascade to partitions.
      const table = scanned?.partitionOf
        ? catalog.tables.find((t) => t.name === scanned.partitionOf && t.kind === 'table')
        : scanned;
      if (!table) return;
      const loops = node.loops ?? 1;
      const kept = (node.actualRows ?? node.planRows) * loops;
      // A generic plan is never run: what its filter throws away is the table's estimate less the rows planned.
      const removed =
        measure.method === 'estimate'
          ? Math.max(0, (scanned?.estimatedRows ?? 0) - node.planRows)
          : (node.rowsRemovedByFilter ?? 0) * loops;
      if (removed < MIN_REMOVED || removed < SELECTIVITY * Math.max(kept, 1)) {
        notes.push(
          `${query.id}: the scan of ${table.name} keeps ${kept} of ${kept + removed} rows; an index would not help`,
        );
        return;
      }
      const { equalities, ranges } = readFilter(node.filter, table);
      const base = [...equalities, ...ranges.slice(0, 1)];
      if (base.length === 0) {
        notes.push(`${query.id}: the filter on ${table.name} (${node.filter}) names no plain column`);
        return;
      }
      const candidates = [base];
      // The nearest sort above the scan, on this table: an index in that order saves the sort and, with a LIMIT,
      // stops after the first rows.
      const sort = ancestorsOf(nodes, i).find((n) => n.nodeType === 'Sort');
      const sortColumn = sort?.sortKey.map((k) => sortKeyColumn(k, table)).find((c) => c !== undefined);
      if (sortColumn !== undefined && ranges.length === 0 && !base.includes(sortColumn)) {
        candidates.push([...base, sortColumn]);
      }
      const reason = `Seq Scan on ${table.name} keeps ${kept} of ${kept + removed} rows (filter ${node.filter})`;
      for (const columns of candidates) {
        const key = `${table.name}(${columns.join(',')})`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (covered(table, columns)) {
          notes.push(`${query.id}: ${key} is already covered by an index`);
          continue;
        }
        const name = freeName(`${table.name}_${columns.join('_')}_idx`, taken);
        const partitions = table.partitioned
          ? catalog.tables.filter((t) => t.partitionOf === table.name).map((t) => t.name)
          : null;
        proposals.push({
          id: `p${proposals.length + 1}`,
          query,
          table: table.name,
          columns,
          name,
          ddl: lockSafeIndexDdl(catalog.schema, table.name, name, columns, partitions),
          trialDdl: indexDdl(catalog.schema, table.name, name, columns),
          reason,
        });
      }
    });
  }
  return { proposals, notes };
}

/** The ancestors of node `i`, nearest first, up to the first join (a sort above a join orders joined rows). */
function ancestorsOf<N extends { depth: number; nodeType: string }>(nodes: readonly N[], i: number): N[] {
  const found: N[] = [];
  let depth = nodes[i]?.depth ?? 0;
  for (let k = i - 1; k >= 0; k--) {
    const node = nodes[k] as N;
    if (node.depth >= depth) continue;
    if (/Join|Nested Loop/.test(node.nodeType)) break;
    found.push(node);
    depth = node.depth;
  }
  return found;
}

/** The column a parse tree operand names, through casts (`(code)::text`), if `table` has it. */
function columnOf(node: unknown, table: CatalogTable): string | undefined {
  let n = node as PgNode | undefined;
  while (n?.TypeCast) n = (n.TypeCast as { arg?: PgNode }).arg;
  const ref = n?.ColumnRef as { fields?: unknown } | undefined;
  const name = ref ? strings(ref.fields).at(-1) : undefined;
  return name !== undefined && table.columns.some((c) => c.name === name) ? name : undefined;
}

/**
 * Columns of `table` compared in a plan filter such as `((customer_id = 42) AND ((code)::text = $1))`: equalities
 * (`=`, `= ANY`, `IN`) and ranges (`<`, `>`, `BETWEEN`), read with PostgreSQL's parser.
 *
 * @example
 * ```ts
 * await filterColumns('((code)::text = $1)', artists); // { equalities: ['code'], ranges: [] }
 * ```
 */
export async function filterColumns(
  filter: string,
  table: CatalogTable,
): Promise<{ equalities: string[]; ranges: string[] }> {
  await loadParser();
  return readFilter(filter, table);
}

function readFilter(filter: string, table: CatalogTable): { equalities: string[]; ranges: string[] } {
  const equalities: string[] = [];
  const ranges: string[] = [];
  let where: unknown;
  try {
    where = parseSql(`SELECT 1 WHERE ${filter}`)[0]?.node.whereClause;
  } catch {
    return { equalities, ranges };
  }
  const add = (list: string[], column: string | undefined) => {
    if (column !== undefined && !list.includes(column) && !equalities.includes(column)) list.push(column);
  };
  walk({ where }, (type, node) => {
    if (type !== 'A_Expr') return;
    const op = strings(node.name).at(-1) ?? '';
    const kind = String(node.kind);
    const column = columnOf(node.lexpr, table) ?? columnOf(node.rexpr, table);
    if ((kind === 'AEXPR_OP' && EQUALITY.includes(op)) || kind === 'AEXPR_IN' || kind === 'AEXPR_OP_ANY') {
      if (op === '=' || kind === 'AEXPR_IN') add(equalities, column);
    } else if ((kind === 'AEXPR_OP' && RANGE.includes(op)) || kind === 'AEXPR_BETWEEN') {
      add(ranges, column);
    }
  });
  return { equalities, ranges };
}

/** The column a sort key (`created_at DESC`, `o.created_at`, `(code)::text`) orders by, if `table` has it. */
function sortKeyColumn(key: string, table: CatalogTable): string | undefined {
  try {
    const sort = parseSql(`SELECT 1 ORDER BY ${key}`)[0]?.node.sortClause as {
      SortBy?: { node?: unknown };
    }[];
    return columnOf(sort?.[0]?.SortBy?.node, table);
  } catch {
    return undefined;
  }
}

/** Whether a valid btree index of `table` starts with `columns`, in order. */
function covered(table: CatalogTable, columns: readonly string[]): boolean {
  return table.indexes.some(
    (i) =>
      i.valid && i.method === 'btree' && i.predicate === null && columns.every((c, k) => i.columns[k] === c),
  );
}
