/**
 * Running a migration's statements and counting rows, shared by the dry run, the apply and the verification.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { PlannedStatement } from './parse.js';

/** A statement of the migration failed; `code` is PostgreSQL's SQLSTATE, so retry policies can match it. */
class StatementError extends Error {
  readonly code: string;
  /** Lock timeouts and deadlocks may pass on a new attempt; anything else fails the same way again. */
  readonly retryable: boolean;
  constructor(
    readonly statement: number,
    sql: string,
    cause: unknown,
  ) {
    const text = cause instanceof Error ? cause.message : String(cause);
    super(`Statement ${statement + 1} failed (${abbreviate(sql)}): ${text}`, { cause });
    this.name = 'StatementError';
    const code = (cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === 'string' ? code : 'MIGRATION_STATEMENT_FAILED';
    this.retryable = TRANSIENT.includes(this.code);
  }
}

/** SQLSTATEs worth another attempt: lock_not_available, deadlock_detected, serialization_failure. */
export const TRANSIENT = ['55P03', '40P01', '40001'];

/** Runs the statements in order on `tx`; returns each one's duration and row count. */
export async function runStatements(
  tx: Database,
  statements: readonly PlannedStatement[],
): Promise<{ index: number; ms: number; rowCount: number }[]> {
  const runs: { index: number; ms: number; rowCount: number }[] = [];
  for (const statement of statements) {
    const started = performance.now();
    try {
      const result = await tx.query(statement.sql);
      runs.push({ index: statement.index, ms: elapsed(started), rowCount: result.rowCount });
    } catch (error) {
      throw new StatementError(statement.index, statement.sql, error);
    }
  }
  return runs;
}

/** `SET LOCAL lock_timeout`: a migration waiting behind a long query would block every query queued behind it. */
export async function setLockTimeout(tx: Database, ms: number): Promise<void> {
  await tx.query("SELECT set_config('lock_timeout', $1, true)", [`${Math.max(1, Math.round(ms))}ms`]);
}

/**
 * Runs the statements with `search_path` set to the migration's schema, so its unqualified names mean that
 * schema's tables, as the lint read them; the path is put back after, because the snapshots print names
 * relative to it.
 */
export async function runInSchema(
  tx: Database,
  schema: string,
  statements: readonly PlannedStatement[],
  /** Schemas searched after `schema` (the dry run's scratch copy falls back to the target for its types). */
  then: readonly string[] = [],
): Promise<{ index: number; ms: number; rowCount: number }[]> {
  const { rows } = await tx.query<{ path: string }>(
    "SELECT current_setting('search_path') AS path, set_config('search_path', $1, true)",
    [[schema, ...then].map(quoteIdent).join(', ')],
  );
  const runs = await runStatements(tx, statements);
  await tx.query("SELECT set_config('search_path', $1, true)", [rows[0]?.path ?? '']);
  return runs;
}

/** Exact row counts of the tables that exist in `schema` (the others are left out). */
export async function countRows(
  db: Database,
  schema: string,
  tables: readonly string[],
  existing: readonly string[],
): Promise<{ table: string; rows: number }[]> {
  const counts: { table: string; rows: number }[] = [];
  for (const table of tables) {
    if (!existing.includes(table)) continue;
    // The rows of the table itself and of its partitions in its own schema: what the dry run's copy holds (it
    // copies one schema, and an inheritance child as a table of its own), so that live and copy compare.
    const name = qualifiedName(schema, table);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM ${name} WHERE tableoid = $1::regclass OR tableoid IN
         (SELECT c.oid FROM pg_class c WHERE c.relispartition AND c.relnamespace = $2::regnamespace)`,
      [name, quoteIdent(schema)],
    );
    counts.push({ table, rows: Number(rows[0]?.n ?? 0) });
  }
  return counts;
}

/** Milliseconds since `started`, to a tenth. */
export function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function abbreviate(sql: string): string {
  const line = sql.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
