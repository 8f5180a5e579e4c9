/**
 * Where the queries to optimize come from: the input, else the slowest statements pg_stat_statements recorded
 * (when the extension is installed and loaded), else the lookups the catalog's foreign keys imply with no index to
 * serve them (see `probes.ts`; on our sample database, its slow query), else none: "no workload to optimize" is
 * the finding. Every query must be one read-only statement: it will run under EXPLAIN ANALYZE.
 */
import type { z } from 'zod';
import { type Database, quoteIdent } from '../../src/db/index.js';
import { SAMPLE_SLOW_QUERY } from '../../src/db/sample/index.js';
import { ConfigurationError } from '../../src/index.js';
import { type Catalog, defaultSchema, introspect } from '../lib/catalog.js';
import { parseSql, rangeVar, walk } from '../lib/pg-parser.js';
import { checkReadOnlySql } from '../lib/read-only.js';
import { catalogProbes } from './probes.js';
import type { Collected, OptimizationInputSchema, Query } from './schemas.js';

/** Statements taken from pg_stat_statements, the slowest in total first. */
const TOP_STATEMENTS = 5;

/**
 * Gathers and checks the queries, with the schema's tables (columns and indexes) for a proposer to read. Throws a
 * `ConfigurationError` for a query that is not one read-only statement.
 */
export async function collectQueries(
  db: Database,
  input: z.output<typeof OptimizationInputSchema>,
): Promise<Collected> {
  const schema = input.schema ?? (await defaultSchema(db));
  const collected = await gather(db, input, schema);
  if (collected.queries.length === 0) return collected;
  const catalog = await introspect(db, schema);
  const tables = catalog.tables
    .filter((t) => t.kind === 'table')
    .map((t) => ({
      name: t.name,
      columns: t.columns.map((c) => c.name),
      indexes: t.indexes.map((i) => i.definition),
    }));
  return { ...collected, tables };
}

async function gather(
  db: Database,
  input: z.output<typeof OptimizationInputSchema>,
  schema: string,
): Promise<Collected> {
  if (input.queries) {
    const queries: Query[] = [];
    for (const [i, q] of input.queries.entries()) {
      const { statement, problems, generic } = await check(q.sql, q.params);
      if (problems.length > 0) throw new ConfigurationError(`queries.${i}: ${problems.join('; ')}`);
      queries.push({
        id: `q${i + 1}`,
        name: q.name ?? `query ${i + 1}`,
        sql: statement,
        params: q.params,
        calls: q.calls ?? 1,
        generic,
        schema,
      });
    }
    return { schema, source: 'input', notes: [], queries };
  }
  const notes: string[] = [];
  const catalog = await introspect(db, schema);
  const recorded = await fromStatements(db, catalog, notes);
  if (recorded.length > 0) return { schema, source: 'pg_stat_statements', notes, queries: recorded };
  if (isSample(catalog)) {
    notes.push('No queries given and none recorded: using the sample database slow query');
    return {
      schema,
      source: 'sample',
      notes,
      queries: [
        {
          id: 'q1',
          name: 'a customer’s latest orders',
          sql: SAMPLE_SLOW_QUERY.sql,
          params: [...SAMPLE_SLOW_QUERY.params] as Query['params'],
          calls: 1,
          generic: false,
          schema,
        },
      ],
    };
  }
  const probes = catalogProbes(catalog);
  if (probes.length > 0) {
    notes.push(
      `No queries given and none recorded: ${probes.length} lookup(s) the foreign keys of ${schema} imply, with no index to serve them, planned generically`,
    );
    return { schema, source: 'catalog', notes, queries: probes };
  }
  notes.push(
    `No workload to optimize in ${schema}: no queries given, none recorded, and every foreign key (declared or implied by a key's name) leads an index`,
  );
  return { schema, source: 'none', notes, queries: [] };
}

/**
 * Our sample database, recognized by its catalog: its slow query's table has every column the query names and
 * the unindexed foreign key it filters on. Only there is the sample's slow query used (it is that probe, with a
 * value and the sort the sample's application runs).
 */
function isSample(catalog: Catalog): boolean {
  const table = catalog.tables.find((t) => t.name === SAMPLE_SLOW_QUERY.table && t.kind === 'table');
  if (!table) return false;
  const names = new Set(table.columns.map((c) => c.name));
  if (!['id', 'status', 'total', 'created_at', ...SAMPLE_SLOW_QUERY.columns].every((c) => names.has(c))) {
    return false;
  }
  return catalogProbes(catalog).some(
    (q) =>
      q.sql.includes(quoteIdent(SAMPLE_SLOW_QUERY.table)) &&
      SAMPLE_SLOW_QUERY.columns.every((c) => q.sql.includes(`${quoteIdent(c)} = $`)),
  );
}

/**
 * The slowest read-only statements pg_stat_statements holds for this database that read a table or view of the
 * schema (named with it, or unqualified and a relation of it): a database's other schemas, the catalog queries of
 * tools (Flowstate's own among them, the only statements a role without pg_read_all_stats sees the text of) are
 * another workload.
 */
async function fromStatements(db: Database, catalog: Catalog, notes: string[]): Promise<Query[]> {
  const schema = catalog.schema;
  const installed = await db.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_stat_statements'`,
  );
  const extension = installed.rows[0]?.schema;
  if (extension === undefined) {
    notes.push('pg_stat_statements is not installed');
    return [];
  }
  let rows: { query: string; calls: number; total: number }[];
  try {
    // A READ ONLY transaction of its own: the view fails when the library is not preloaded, and that failure must
    // not abort anything else.
    rows = await db.transaction(
      async (tx) =>
        (
          await tx.query<{ query: string; calls: number; total: number }>(
            `SELECT query, calls::float8 AS calls, total_exec_time::float8 AS total
             FROM ${quoteIdent(extension)}.pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             ORDER BY total_exec_time DESC LIMIT 200`,
          )
        ).rows,
      { readOnly: true, statementTimeoutMs: 10_000 },
    );
  } catch (error) {
    notes.push(`pg_stat_statements is installed but cannot be read (${(error as Error).message})`);
    return [];
  }
  let parameterized = 0;
  let elsewhere = 0;
  const queries: Query[] = [];
  const relations = new Set(catalog.tables.map((t) => t.name));
  for (const row of rows) {
    if (/\b(pg_catalog|information_schema|pg_stat_statements)\b|\bpg_[a-z_]+\(/i.test(row.query)) continue;
    const { statement, problems, generic } = await check(row.query, []);
    if (problems.length > 0) continue;
    if (!readsSchema(statement, schema, relations)) {
      elsewhere++;
      continue;
    }
    if (generic) parameterized++;
    queries.push({
      id: `q${queries.length + 1}`,
      name: `${row.calls} calls, ${Math.round(row.total)} ms in all`,
      sql: statement,
      params: [],
      calls: row.calls,
      generic,
      schema,
    });
    if (queries.length === TOP_STATEMENTS) break;
  }
  if (elsewhere > 0) {
    notes.push(
      `${elsewhere} recorded statement(s) read no table of ${schema} and are left out (another schema's workload: give its name as "schema")`,
    );
  }
  if (parameterized > 0) {
    // Normalized statements hold $1 where the constants were: planned generically, judged on estimates.
    notes.push(`${parameterized} recorded statement(s) have no parameter values: judged on generic plans`);
  }
  return queries;
}

/**
 * Whether `sql` reads a relation of `schema`: one named with the schema, or unqualified and one of `relations` (a
 * name a CTE of the statement gives is not a relation).
 */
function readsSchema(sql: string, schema: string, relations: ReadonlySet<string>): boolean {
  let statements: ReturnType<typeof parseSql>;
  try {
    statements = parseSql(sql);
  } catch {
    return false;
  }
  const ctes = new Set<string>();
  const refs: { schema: string | null; name: string }[] = [];
  walk(
    statements.map((s) => s.node),
    (type, node) => {
      if (type === 'CommonTableExpr' && typeof node.ctename === 'string') ctes.add(node.ctename);
      if (type !== 'RangeVar') return;
      const ref = rangeVar(node);
      if (ref) refs.push(ref);
    },
  );
  return refs.some((r) =>
    r.schema === null ? relations.has(r.name) && !ctes.has(r.name) : r.schema === schema,
  );
}

/**
 * The read-only check of a user's query. A query with `$n` and no values at all is kept as generic (planned
 * without values) instead of refused.
 */
async function check(
  sql: string,
  params: readonly unknown[],
): Promise<{ statement: string; problems: string[]; generic: boolean }> {
  const { statement, problems } = await checkReadOnlySql(sql, params, { allowLiterals: true });
  const missing = params.length === 0 && problems.some((p) => /^Uses [1-9]\d* parameter/.test(p));
  return {
    statement,
    problems: missing ? problems.filter((p) => !p.startsWith('Uses ')) : problems,
    generic: missing,
  };
}
