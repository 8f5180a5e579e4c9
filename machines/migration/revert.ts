/**
 * Undoing an applied migration: rename back, plan the DDL from the current shape to the snapshot taken before,
 * run it, restore the backed-up rows, and check that the schema is the snapshot again. It runs inside the
 * caller's transaction, so a revert that cannot reach the snapshot changes nothing. The dry run uses it too, to
 * tell before applying whether a migration can be undone.
 */
import { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { BackupSchema, dropBackups, restoreBackups } from './backup.js';
import {
  compareSnapshots,
  describeDifference,
  SnapshotSchema,
  scoped,
  takeSnapshot,
  withDescendants,
} from './snapshot.js';
import { undoPlan } from './undo.js';
import { irreversibleLeft } from './undo-enums.js';

/**
 * A rename the migration made, in the order it made them: of a table, a column, or a type of the schema (an enum, a
 * domain, a composite type: `ALTER TYPE / DOMAIN ... RENAME TO`).
 */
export const RenameSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('table'), table: z.string(), to: z.string() }),
  z.object({ kind: z.literal('column'), table: z.string(), column: z.string(), to: z.string() }),
  z.object({ kind: z.literal('type'), type: z.string(), to: z.string() }),
]);
/** A rename the migration made. */
export type Rename = z.infer<typeof RenameSchema>;

/** Everything a revert needs, as the apply step returns it (the compensation only sees that step's output). */
export const UndoDataSchema = z.object({
  schema: z.string(),
  /** The tables and views the migration changed (old and new names): the revert touches nothing else. */
  scope: z.array(z.string()),
  before: SnapshotSchema,
  renames: z.array(RenameSchema),
  backups: z.array(BackupSchema),
});
/** Everything a revert needs. */
export type UndoData = z.infer<typeof UndoDataSchema>;

/** What a revert did. */
export interface RevertResult {
  readonly statements: string[];
  readonly restoredRows: Record<string, number>;
}

/** A revert that could not bring the schema back to its snapshot; the transaction around it rolls back. */
class RevertError extends Error {
  readonly code = 'MIGRATION_REVERT_FAILED';
  /** The same revert would fail the same way. */
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RevertError';
  }
}

/** Reverts inside `tx` (the caller owns the transaction); throws a {@link RevertError} when it cannot. */
export async function revertInside(tx: Database, undo: UndoData): Promise<RevertResult> {
  const statements: string[] = [];
  const run = async (sql: string) => {
    statements.push(sql);
    try {
      await tx.query(sql);
    } catch (error) {
      throw new RevertError(`Revert statement failed: ${sql}: ${message(error)}`, { cause: error });
    }
  };
  for (const rename of [...undo.renames].reverse()) {
    if (rename.kind === 'table') {
      await run(`ALTER TABLE ${qualifiedName(undo.schema, rename.to)} RENAME TO ${quoteIdent(rename.table)}`);
    } else if (rename.kind === 'type') {
      // ALTER TYPE renames a domain too.
      await run(`ALTER TYPE ${qualifiedName(undo.schema, rename.to)} RENAME TO ${quoteIdent(rename.type)}`);
    } else {
      await run(
        `ALTER TABLE ${qualifiedName(undo.schema, rename.table)} RENAME COLUMN ${quoteIdent(rename.to)} TO ${quoteIdent(rename.column)}`,
      );
    }
  }
  const before = scoped(undo.before, undo.scope);
  const current = scoped(await takeSnapshot(tx, undo.schema), undo.scope);
  // Rows restored into a parent land in its partitions: their NOT VALID constraints are lifted for it too.
  const plan = undoPlan(
    current,
    before,
    withDescendants(
      undo.before,
      undo.backups.map((b) => b.table),
    ),
  );
  for (const sql of [...plan.drop, ...plan.create]) await run(sql);
  let restoredRows: Record<string, number>;
  try {
    restoredRows = await restoreBackups(
      tx,
      await takeSnapshot(tx, undo.schema),
      undo.backups,
      plan.recreated,
    );
  } catch (error) {
    throw new RevertError(`Restoring the backed-up rows failed: ${message(error)}`, { cause: error });
  }
  for (const sql of plan.finish) await run(sql);
  const after = scoped(await takeSnapshot(tx, undo.schema), undo.scope);
  const left = compareSnapshots(before, after);
  if (left.length > 0) {
    // What no statement can undo says why first (the transaction rolls back: nothing of the revert stays).
    const why = irreversibleLeft(before, after);
    throw new RevertError(
      `The revert did not restore the schema: ${[...why, ...left.slice(0, 5).map(describeDifference)].join('; ')}`,
    );
  }
  return { statements, restoredRows };
}

/**
 * Reverts an applied migration in a transaction of its own (committed only when the schema is the snapshot
 * again), then drops the backups.
 */
export async function revertMigration(
  db: Database,
  undo: UndoData,
  options: { statementTimeoutMs: number; lockTimeoutMs: number },
): Promise<RevertResult> {
  const result = await db.transaction(
    async (tx) => {
      await tx.query("SELECT set_config('lock_timeout', $1, true)", [`${options.lockTimeoutMs}ms`]);
      return revertInside(tx, undo);
    },
    { statementTimeoutMs: options.statementTimeoutMs },
  );
  await dropBackups(db, undo.backups);
  return result;
}

/** An error's message. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
