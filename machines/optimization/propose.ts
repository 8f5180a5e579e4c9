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
import type { PlanNode } from '../lib/plan.js';
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
      // A partition's scan asks for an index on its partitioned table, the topmost one when partitions are
      // partitioned in turn: indexes of partitioned tables cascade to every partition below them.
      let table = scanned;
      for (let depth = 0; table?.partitionOf && depth < 32; depth++) {
        const parent: string = table.partitionOf;
        table = catalog.tables.find((t) => t.name === parent && t.kind === 'table');
      }
      if (!table) return;
      const loops = node.loops ?? 1;
      const kept = (node.actualRows ?? node.planRows) * loops;
      // A generic plan is never run: what its filter throws away is the table's estimate less the rows planned.
      const removed =
        measure.method === 'estimate'
          ? Math.max(0, (scanned?.estimatedRows ?? 0) - node.planRows)
          : (node.rowsRemovedByFilter ?? 0) * loops;
      const { equalities, ranges } = readFilter(node.filter, table);
      const ordered = orderedCandidate(nodes, i, table, equalities, ranges);
      // An index on the filter alone must spare most of the rows read; one in the order a LIMIT above reads them
      // stops after those rows, however many the filter keeps (`WHERE "group" = $1 ORDER BY created_at LIMIT 10`
      // on a few groups).
      const filterPays = worthIt(kept + removed, kept);
      if (!filterPays && !(ordered && worthIt(kept + removed, ordered.rows))) {
        notes.push(
          `${query.id}: the scan of ${table.name} keeps ${kept} of ${kept + removed} rows; an index would not help`,
        );
        return;
      }
      const base = [...equalities, ...ranges.slice(0, 1)];
      if (base.length === 0) {
        notes.push(`${query.id}: the filter on ${table.name} (${node.filter}) names no plain column`);
        return;
      }
      const candidates = filterPays ? [base] : [];
      if (ordered && !sameColumns(ordered.columns, base)) candidates.push(ordered.columns);
      const reason = `Seq Scan on ${table.name} keeps ${kept} of ${kept + removed} rows (filter ${node.filter})${
        filterPays || !ordered ? '' : `, then sorts them for ${ordered.rows} rows`
      }`;
      for (const columns of candidates) {
        const key = `${table.name}(${columns.join(',')})`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (covered(table, columns)) {
          notes.push(`${query.id}: ${key} is already covered by an index`);
          continue;
        }
        const name = freeName(`${table.name}_${columns.join('_')}_idx`, taken);
        proposals.push({
          id: `p${proposals.length + 1}`,
          query,
          table: table.name,
          columns,
          name,
          ddl: lockSafeIndexDdl(catalog, table.name, name, columns),
          trialDdl: indexDdl(catalog.schema, table.name, name, columns),
          reason,
        });
      }
    });
  }
  return { proposals, notes };
}

/** Whether an index reading `needed` of `read` rows spares enough of them to beat a sequential scan. */
function worthIt(read: number, needed: number): boolean {
  const spared = read - needed;
  return spared >= MIN_REMOVED && spared >= SELECTIVITY * Math.max(needed, 1);
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, k) => b[k] === c);
}

/**
 * The composite candidate of a scan under a sort on this table: the equality columns, then the sort's columns in
 * its order (the longest prefix in one direction, which a btree reads forwards or backwards), so the index hands
 * the rows over sorted for each value of the equalities and the sort goes. `rows`: what the plan reads of them,
 * the rows of a LIMIT above the sort (an index stops there), else all the scan keeps. A range on another column
 * than the first sorted one breaks the order (the index would be read range by range), so there is none then.
 */
function orderedCandidate(
  nodes: readonly PlanNode[],
  i: number,
  table: CatalogTable,
  equalities: readonly string[],
  ranges: readonly string[],
): { columns: string[]; rows: number } | undefined {
  const above = ancestorsOf(nodes, i);
  const at = above.findIndex((n) => n.nodeType === 'Sort' || n.nodeType === 'Incremental Sort');
  const sort = above[at];
  if (!sort) return undefined;
  const keys: string[] = [];
  let direction: boolean | undefined;
  for (const key of sort.sortKey) {
    const read = sortKeyOf(key, table);
    // A key on another table or an expression ends the prefix an index can serve.
    if (!read || (direction !== undefined && read.descending !== direction)) break;
    direction = read.descending;
    // A column the equalities fix is constant in each group: it orders nothing.
    if (!equalities.includes(read.column) && !keys.includes(read.column)) keys.push(read.column);
  }
  const first = keys[0];
  if (first === undefined || ranges.some((r) => r !== first)) return undefined;
  if (equalities.length === 0 && !ranges.includes(first)) return undefined;
  const node = nodes[i] as PlanNode;
  const limit = above.slice(at + 1).find((n) => n.nodeType === 'Limit');
  const rows = limit
    ? (limit.actualRows ?? limit.planRows) * (limit.loops ?? 1)
    : (node.actualRows ?? node.planRows) * (node.loops ?? 1);
  return { columns: [...equalities, ...keys], rows };
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

/**
 * The column a sort key (`created_at DESC`, `o.created_at`, `(code)::text`) orders by, if `table` has it, and
 * whether it is descending.
 */
function sortKeyOf(key: string, table: CatalogTable): { column: string; descending: boolean } | undefined {
  try {
    const sort = parseSql(`SELECT 1 ORDER BY ${key}`)[0]?.node.sortClause as {
      SortBy?: { node?: unknown; sortby_dir?: string };
    }[];
    const by = sort?.[0]?.SortBy;
    const column = columnOf(by?.node, table);
    return column === undefined ? undefined : { column, descending: by?.sortby_dir === 'SORTBY_DESC' };
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
