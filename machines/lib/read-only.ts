/**
 * Running SQL that someone else wrote (a generator, an LLM, a user's list of slow queries) without letting it
 * change anything. Two layers: a static check that refuses what is not one read-only query, and, whatever that
 * check says, execution only inside a READ ONLY transaction with a statement timeout, wrapped as a subquery and
 * sent with at least one parameter (so the server parses exactly one statement: no `; COMMIT; DROP ...`).
 */
import type { Database } from '../../src/db/index.js';
import { loadParser, type PgNode, parseSql, strings, walk } from './pg-parser.js';

/** Statements that write or change something, by parse tree node: never inside a read-only candidate. */
const WRITES: Record<string, string> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
};

/**
 * Functions with effects a READ ONLY transaction does not stop: session settings that outlive the transaction on a
 * pooled connection, sleeping, signalling backends, reading server files, advisory locks.
 */
const FORBIDDEN_FUNCTIONS = [
  'set_config',
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'lo_import',
  'lo_export',
  'lo_unlink',
  'pg_advisory_lock',
  'pg_advisory_xact_lock',
  'pg_try_advisory_lock',
  'pg_notify',
  'dblink',
  'dblink_exec',
  'nextval',
  'setval',
  'query_to_xml',
  'pg_switch_wal',
  'pg_current_xact_id',
  'txid_current',
];

/**
 * Families of functions with effects a READ ONLY transaction does not stop either, by name prefix: replication slots
 * (a slot created in a read-only transaction stays, and keeps WAL forever), statistics resets, every advisory lock
 * and unlock, large objects, backups, WAL replay and promotion, server files, signals. A prefix list rather than
 * names, as each family has members the names above would miss (`pg_advisory_lock_shared`, `pg_stat_reset_shared`).
 */
const FORBIDDEN_PREFIXES = [
  'pg_create_',
  'pg_drop_',
  'pg_replication_',
  'pg_logical_',
  'pg_stat_reset',
  'pg_stat_statements_reset',
  'pg_advisory',
  'pg_try_advisory',
  'pg_promote',
  'pg_wal_replay_',
  'pg_backup_',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_log_backend',
  'pg_file_',
  'pg_copy_',
  'pg_import_',
  'pg_signal_',
  'pg_ls_',
  'lo_',
  'dblink',
];

/**
 * Whether a called function has effects a READ ONLY transaction lets through. By its last name part: a schema
 * qualification (`public.pg_stat_statements_reset`, an extension installed in `public`) does not hide it.
 */
function hasSideEffects(qualified: string): boolean {
  const name = qualified.slice(qualified.lastIndexOf('.') + 1).toLowerCase();
  return FORBIDDEN_FUNCTIONS.includes(name) || FORBIDDEN_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * The one statement of `sql`, or the reasons it is not a single read-only query with matching parameters, as
 * PostgreSQL's own parser reads it: one `SELECT` (or `WITH`, `VALUES`, `TABLE`) with no data-modifying CTE, no
 * `INTO`, no `FOR UPDATE`, no call of a function with side effects. String literals are refused unless
 * `allowLiterals` (a user's own queries may hold them; generated ones must pass values as parameters).
 *
 * @example
 * ```ts
 * (await checkReadOnlySql('SELECT 1; DROP TABLE t', [])).problems; // ['Expected one statement, got 2', ...]
 * ```
 */
export async function checkReadOnlySql(
  sql: string,
  params: readonly unknown[],
  options: { readonly allowLiterals?: boolean } = {},
): Promise<{ statement: string; problems: string[] }> {
  if (sql.trim() === '') return { statement: '', problems: ['The query is empty'] };
  await loadParser();
  let statements: ReturnType<typeof parseSql>;
  try {
    statements = parseSql(sql);
  } catch (error) {
    return { statement: '', problems: [error instanceof Error ? error.message : String(error)] };
  }
  const problems: string[] = [];
  if (statements.length !== 1) problems.push(`Expected one statement, got ${statements.length}`);
  const [first] = statements;
  if (!first) return { statement: '', problems: ['The query is empty'] };
  if (first.type !== 'SelectStmt') {
    problems.push(`Not a query: it is ${first.sql.split(/\s+/)[0]?.toUpperCase()} (expected SELECT or WITH)`);
  }
  const words = new Set<string>();
  // A statement that is not a query is a write or a change by its first word (DROP, SET, COPY, CALL...).
  for (const s of statements)
    if (s.type !== 'SelectStmt') words.add(s.sql.split(/\s+/)[0]?.toUpperCase() ?? s.type);
  const calls = new Set<string>();
  let literals = false;
  let parameters = 0;
  walk(
    statements.map((s) => ({ [s.type]: s.node })),
    (type, node: PgNode) => {
      const write = WRITES[type];
      if (write) words.add(write);
      if (type === 'SelectStmt' && node.intoClause !== undefined) words.add('INTO');
      if (type === 'SelectStmt' && node.lockingClause !== undefined) words.add('FOR UPDATE/SHARE');
      if (type === 'FuncCall') {
        const name = strings(node.funcname)
          .join('.')
          .replace(/^pg_catalog\./, '');
        if (hasSideEffects(name)) calls.add(name);
      }
      if (type === 'A_Const' && node.sval !== undefined) literals = true;
      if (type === 'ParamRef') parameters = Math.max(parameters, Number(node.number ?? 0));
    },
  );
  if (words.size > 0) problems.push(`Not read-only: it uses ${[...words].join(', ')}`);
  if (calls.size > 0) problems.push(`Calls a function with side effects: ${[...calls].join(', ')}`);
  if (!options.allowLiterals && literals) {
    problems.push('Has string literals: pass values as parameters ($1, $2...) instead');
  }
  if (parameters !== params.length) {
    problems.push(`Uses ${parameters} parameter(s) but ${params.length} value(s) were given`);
  }
  return { statement: first.sql.replace(/;\s*$/, ''), problems };
}

/** Options of {@link runReadOnly}. */
export interface ReadOnlyOptions {
  /** Bounds every statement of the transaction. */
  readonly statementTimeoutMs: number;
  /** Rows to fetch. @default 10 */
  readonly limit?: number;
  /** EXPLAIN options, such as `FORMAT JSON` or `ANALYZE, FORMAT JSON`; no EXPLAIN when absent. */
  readonly explain?: 'FORMAT JSON' | 'ANALYZE, FORMAT JSON';
  /** Also fetch up to `limit` rows. @default true */
  readonly rows?: boolean;
}

/** What {@link runReadOnly} read. */
export interface ReadOnlyResult {
  /** The EXPLAIN output (the JSON plan list) when asked for. */
  readonly plan: unknown;
  readonly rows: Record<string, unknown>[];
}

/**
 * Runs `sql` as `SELECT * FROM (sql) AS candidate LIMIT $n` in a READ ONLY transaction with a statement timeout:
 * it can read, it cannot write, whatever it says. Throws what the database throws (a syntax error for anything
 * that is not a query, "cannot execute ... in a read-only transaction" for a write).
 */
export async function runReadOnly(
  db: Database,
  sql: string,
  params: readonly unknown[],
  options: ReadOnlyOptions,
): Promise<ReadOnlyResult> {
  const limit = options.limit ?? 10;
  // The newline before `)` ends a trailing `--` comment inside the candidate.
  const wrapped = `SELECT * FROM (\n${sql}\n) AS candidate LIMIT $${params.length + 1}`;
  const values = [...params, limit];
  return db.transaction(
    async (tx) => {
      let plan: unknown = null;
      if (options.explain) {
        const explained = await tx.query<{ 'QUERY PLAN': unknown }>(
          `EXPLAIN (${options.explain}) ${wrapped}`,
          values,
        );
        plan = parsePlan(explained.rows[0]?.['QUERY PLAN']);
      }
      const rows = options.rows === false ? [] : (await tx.query(wrapped, values)).rows;
      return { plan, rows: rows.map(jsonSafe) };
    },
    { readOnly: true, statementTimeoutMs: options.statementTimeoutMs },
  );
}

/** EXPLAIN's JSON comes back parsed from a server and as text from some drivers. */
export function parsePlan(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/** A row as plain JSON: dates as ISO strings, big integers as strings, bytes as base64. */
function jsonSafe(row: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(row, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      return value;
    }),
  ) as Record<string, unknown>;
}
