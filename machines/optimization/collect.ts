/**
 * Where the queries to optimize come from: the input, else the slowest statements pg_stat_statements recorded
 * (when the extension is installed and loaded), else the sample database's slow query. Every query must be one
 * read-only statement: it will run under EXPLAIN ANALYZE.
 */
import type { z } from 'zod';
import { type Database, quoteIdent } from '../../src/db/index.js';
import { SAMPLE_SLOW_QUERY } from '../../src/db/sample/index.js';
import { ConfigurationError } from '../../src/index.js';
import { checkReadOnlySql } from '../lib/read-only.js';
import type { Collected, OptimizationInputSchema, Query } from './schemas.js';

/** Statements taken from pg_stat_statements, the slowest in total first. */
const TOP_STATEMENTS = 5;

/** Gathers and checks the queries. Throws a `ConfigurationError` for a query that is not one read-only statement. */
export async function collectQueries(
  db: Database,
  input: z.output<typeof OptimizationInputSchema>,
): Promise<Collected> {
  const { schema } = input;
  if (input.queries) {
    const queries: Query[] = [];
    for (const [i, q] of input.queries.entries()) {
      const { statement, problems } = await checkReadOnlySql(q.sql, q.params, { allowLiterals: true });
      if (problems.length > 0) throw new ConfigurationError(`queries.${i}: ${problems.join('; ')}`);
      queries.push({ id: `q${i + 1}`, name: q.name ?? `query ${i + 1}`, sql: statement, params: q.params });
    }
    return { schema, source: 'input', notes: [], queries };
  }
  const notes: string[] = [];
  const recorded = await fromStatements(db, notes);
  if (recorded.length > 0) return { schema, source: 'pg_stat_statements', notes, queries: recorded };
  const where = await db.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = to_regclass($1)`,
    [SAMPLE_SLOW_QUERY.table],
  );
  if (where.rows[0]?.schema !== schema) {
    throw new ConfigurationError(
      `No queries to optimize: pass \`queries\` (${notes.join('; ') || 'pg_stat_statements is not installed'})`,
    );
  }
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
      },
    ],
  };
}

/** The slowest parameterless read-only statements pg_stat_statements holds for this database. */
async function fromStatements(db: Database, notes: string[]): Promise<Query[]> {
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
  const queries: Query[] = [];
  for (const row of rows) {
    if (/\b(pg_catalog|information_schema|pg_stat_statements)\b|\bpg_[a-z_]+\(/i.test(row.query)) continue;
    const { statement, problems } = await checkReadOnlySql(row.query, [], { allowLiterals: true });
    if (problems.some((p) => p.startsWith('Uses '))) parameterized++;
    if (problems.length > 0) continue;
    queries.push({
      id: `q${queries.length + 1}`,
      name: `${row.calls} calls, ${Math.round(row.total)} ms in all`,
      sql: statement,
      params: [],
    });
    if (queries.length === TOP_STATEMENTS) break;
  }
  if (parameterized > 0) {
    // Normalized statements hold $1 where the constants were: without values they cannot run under ANALYZE.
    notes.push(`${parameterized} recorded statement(s) need parameter values: pass them in \`queries\``);
  }
  return queries;
}
