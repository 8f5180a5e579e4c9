/**
 * Migrations that span several transactions. Two lock-safe patterns cannot live in one transaction:
 * `CREATE INDEX CONCURRENTLY` (and `DROP INDEX CONCURRENTLY`) refuse to run inside one, and a constraint added
 * `NOT VALID` must commit before its `VALIDATE CONSTRAINT`, or the ACCESS EXCLUSIVE lock of the ADD is held
 * through the whole validating scan. The executor splits the statements into phases at those points.
 */
import { type Database, quoteIdent } from '../../src/db/index.js';
import { loadParser, scanSql } from '../lib/pg-parser.js';
import { runInSchema, runStatements, setLockTimeout } from './execute.js';
import type { PlannedStatement } from './parse.js';

/** Statements that run together: in one transaction, or alone outside any. */
export interface Phase {
  readonly transactional: boolean;
  readonly statements: readonly PlannedStatement[];
}

/** Whether a statement must run outside a transaction block. */
function concurrent(statement: PlannedStatement): boolean {
  const op = statement.operation;
  return (op.kind === 'create-index' || op.kind === 'drop-index') && op.concurrently;
}

/**
 * The phases of a migration: consecutive statements share a transaction, a CONCURRENTLY statement runs alone
 * outside one, and a VALIDATE of a constraint added NOT VALID earlier in the migration starts a new transaction.
 *
 * @example
 * ```ts
 * phasesOf(await parseMigration('ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT c')).length; // 2
 * ```
 */
export function phasesOf(statements: readonly PlannedStatement[]): Phase[] {
  const phases: { transactional: boolean; statements: PlannedStatement[] }[] = [];
  const added = new Set<string>();
  let current: PlannedStatement[] | undefined;
  for (const statement of statements) {
    const op = statement.operation;
    if (concurrent(statement)) {
      phases.push({ transactional: false, statements: [statement] });
      current = undefined;
      continue;
    }
    const validates =
      op.kind === 'alter-table' &&
      op.actions.some((a) => a.kind === 'validate-constraint' && added.has(a.name));
    if (current === undefined || validates) {
      current = [];
      phases.push({ transactional: true, statements: current });
    }
    current.push(statement);
    if (op.kind === 'alter-table') {
      for (const a of op.actions) if (a.kind === 'add-constraint' && a.notValid && a.name) added.add(a.name);
    }
  }
  return phases;
}

/** Timeouts every phase runs under: DDL waiting for a lock blocks every query queued behind it. */
export interface PhaseLimits {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /** The migration's schema: the search path its unqualified names resolve in. */
  readonly schema: string;
}

/**
 * Runs one phase on `db`: a transaction with `SET LOCAL lock_timeout` and `statement_timeout`, or a lone
 * statement between session-level `SET`s that are reset afterwards. A failed `CREATE INDEX CONCURRENTLY` leaves
 * an invalid index behind: it is dropped (concurrently) before the error is rethrown.
 */
export async function runPhase(
  db: Database,
  phase: Phase,
  limits: PhaseLimits,
): Promise<{ index: number; ms: number; rowCount: number }[]> {
  if (phase.transactional) {
    return db.transaction(
      async (tx) => {
        await setLockTimeout(tx, limits.lockTimeoutMs);
        return runInSchema(tx, limits.schema, phase.statements);
      },
      { statementTimeoutMs: limits.statementTimeoutMs },
    );
  }
  // The port has no pinned session outside a transaction: on a pool the SETs reach the connection an idle pool
  // hands out again for the next query (pg's pool reuses the last released client), and are reset at the end.
  await db.query(
    "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false), set_config('search_path', $3, false)",
    [
      `${Math.max(1, Math.round(limits.lockTimeoutMs))}ms`,
      `${Math.max(1, Math.round(limits.statementTimeoutMs))}ms`,
      quoteIdent(limits.schema),
    ],
  );
  try {
    return await runStatements(db, phase.statements);
  } catch (error) {
    await dropInvalidIndexes(db, phase.statements);
    throw error;
  } finally {
    await db.query('RESET lock_timeout').catch(() => undefined);
    await db.query('RESET statement_timeout').catch(() => undefined);
    await db.query('RESET search_path').catch(() => undefined);
  }
}

/** Drops the invalid index a failed CREATE INDEX CONCURRENTLY left (a named one; PostgreSQL names the others). */
async function dropInvalidIndexes(db: Database, statements: readonly PlannedStatement[]): Promise<void> {
  for (const { operation: op } of statements) {
    if (op.kind !== 'create-index' || op.name === null) continue;
    const { rows } = await db.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = $1 AND NOT i.indisvalid AND ($2::text IS NULL OR n.nspname = $2)`,
      [op.name, op.table.schema],
    );
    for (const row of rows)
      await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${row.name}`).catch(() => undefined);
  }
}

/**
 * The statements as the dry run runs them, all in one rolled-back transaction: CONCURRENTLY is taken out (it
 * cannot run in a transaction; the index it builds is the same).
 */
export async function inTransaction(statements: readonly PlannedStatement[]): Promise<PlannedStatement[]> {
  await loadParser();
  return statements.map((s) => {
    if (!concurrent(s)) return s;
    const token = scanSql(s.sql).find((t) => t.name === 'CONCURRENTLY');
    return token ? { ...s, sql: `${s.sql.slice(0, token.start)}${s.sql.slice(token.end)}` } : s;
  });
}
