/**
 * Index proposals read from measured plans: a sequential scan whose filter throws most rows away wants an index
 * on the filtered columns (equalities first, then one range), and when a sort on the same table sits above it, a
 * second proposal adds the sort key. Columns are read from the plan's filter text and kept only when the
 * catalog has them; proposals an existing index already covers are dropped. The trial decides which help.
 */
import type { Catalog, CatalogTable } from '../lib/catalog.js';
import { type Token, tokenize } from '../lib/sql-text.js';
import { indexDdl } from './measure.js';
import type { Baseline, Proposal } from './schemas.js';

/** A scan is worth an index when its filter throws away at least this many rows per row kept. */
const SELECTIVITY = 4;
/** ... and at least this many rows in all (tiny tables scan faster than they look up an index). */
const MIN_REMOVED = 200;
const EQUALITY = ['='];
const RANGE = ['<', '>', '<=', '>='];

/** Proposes indexes for the measured queries. */
export function proposeIndexes(
  baselines: readonly Baseline[],
  catalog: Catalog,
): { proposals: Proposal[]; notes: string[] } {
  const proposals: Proposal[] = [];
  const notes: string[] = [];
  const taken = new Set(catalog.tables.flatMap((t) => t.indexes.map((i) => i.name)));
  const seen = new Set<string>();
  for (const { query, measure } of baselines) {
    const nodes = measure.nodes;
    nodes.forEach((node, i) => {
      if (node.nodeType !== 'Seq Scan' || node.relation === null || node.filter === null) return;
      if (node.schema !== null && node.schema !== catalog.schema) return;
      const table = catalog.tables.find((t) => t.name === node.relation && t.kind === 'table');
      if (!table) return;
      const loops = node.loops ?? 1;
      const kept = (node.actualRows ?? node.planRows) * loops;
      const removed = (node.rowsRemovedByFilter ?? 0) * loops;
      if (removed < MIN_REMOVED || removed < SELECTIVITY * Math.max(kept, 1)) {
        notes.push(
          `${query.id}: the scan of ${table.name} keeps ${kept} of ${kept + removed} rows; an index would not help`,
        );
        return;
      }
      const { equalities, ranges } = filterColumns(node.filter, table);
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
        const name = uniqueName(`${table.name}_${columns.join('_')}_idx`, taken);
        proposals.push({
          id: `p${proposals.length + 1}`,
          query,
          table: table.name,
          columns,
          name,
          ddl: indexDdl(catalog.schema, table.name, name, columns),
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

/** Columns of `table` compared in a plan filter such as `((customer_id = 42) AND (total > 10::numeric))`. */
export function filterColumns(
  filter: string,
  table: CatalogTable,
): { equalities: string[]; ranges: string[] } {
  const tokens = tokenize(filter);
  const equalities: string[] = [];
  const ranges: string[] = [];
  const isColumn = (t: Token | undefined) =>
    (t?.kind === 'word' || t?.kind === 'ident') && table.columns.some((c) => c.name === t.value);
  tokens.forEach((token, i) => {
    if (!isColumn(token)) return;
    // `o.customer_id`: the alias before the dot is not a column; `(customer_id)::text` is an expression.
    if (tokens[i + 1]?.value === '.' || tokens[i + 1]?.value === '::') return;
    const before = tokens[i - 1]?.value === '.' ? tokens[i - 3] : tokens[i - 1];
    const op =
      tokens[i + 1]?.kind === 'op' ? tokens[i + 1]?.value : before?.kind === 'op' ? before.value : undefined;
    const list = op && EQUALITY.includes(op) ? equalities : op && RANGE.includes(op) ? ranges : undefined;
    if (list && !list.includes(token.value) && !equalities.includes(token.value)) list.push(token.value);
  });
  return { equalities, ranges };
}

/** The column a sort key (`created_at DESC`, `o.created_at`) orders by, if it is a plain column of `table`. */
function sortKeyColumn(key: string, table: CatalogTable): string | undefined {
  const tokens = tokenize(key).filter((t) => !['desc', 'asc', 'nulls', 'first', 'last'].includes(t.value));
  const name =
    tokens.length === 3 && tokens[1]?.value === '.' ? tokens[2] : tokens.length === 1 ? tokens[0] : undefined;
  return name && table.columns.some((c) => c.name === name.value) ? name.value : undefined;
}

/** Whether a valid btree index of `table` starts with `columns`, in order. */
function covered(table: CatalogTable, columns: readonly string[]): boolean {
  return table.indexes.some(
    (i) =>
      i.valid && i.method === 'btree' && i.predicate === null && columns.every((c, k) => i.columns[k] === c),
  );
}

/** A name of at most 63 bytes that no index of the schema has. */
function uniqueName(wanted: string, taken: Set<string>): string {
  const base = Buffer.from(wanted)
    .subarray(0, 58)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}
