/**
 * The apply of a migration that spans several transactions (CREATE INDEX CONCURRENTLY runs outside one), and the
 * scope of a revert that every apply and dry run records: apart from the agents, which only choose between them.
 */
import type { Database } from '../../src/db/index.js';
import { backupTables, dropBackups } from './backup.js';
import { elapsed } from './execute.js';
import { type Phase, type PhaseLimits, runPhase } from './phases.js';
import { revertMigration, type UndoData } from './revert.js';
import type { Applied, Results } from './schemas.js';
import { changedRelations, type Snapshot, takeSnapshot, withDescendants } from './snapshot.js';

/**
 * Applies a migration that spans several transactions. The snapshot and the backups are taken first, in a
 * transaction of their own; when a later phase fails, what the earlier ones committed is reverted from them
 * before the error is rethrown (the compensation only runs for an apply that returned).
 */
export async function applyInPhases(
  db: Database,
  plan: Results['plan'],
  phases: readonly Phase[],
  prefix: string,
  limits: PhaseLimits,
): Promise<Applied> {
  const started = performance.now();
  const { before, backups } = await db.transaction(async (tx) => {
    const snapshot = await takeSnapshot(tx, plan.schema);
    return { before: snapshot, backups: await backupTables(tx, snapshot, plan.backupTables, prefix) };
  });
  const undoAt = async (): Promise<UndoData> => ({
    schema: plan.schema,
    scope: scopeOf(before, await takeSnapshot(db, plan.schema), plan),
    before,
    renames: plan.renames,
    backups,
  });
  const statements: Applied['statements'] = [];
  try {
    for (const phase of phases) statements.push(...(await runPhase(db, phase, limits)));
  } catch (error) {
    if (statements.length > 0) await revertMigration(db, await undoAt(), limits);
    await dropBackups(db, backups);
    throw error;
  }
  return {
    appliedAt: new Date().toISOString(),
    durationMs: elapsed(started),
    statements,
    undo: await undoAt(),
  };
}

/** The relations a revert may touch: those that changed, plus every name a rename involved. */
export function scopeOf(before: Snapshot, after: Snapshot, plan: Results['plan']): string[] {
  const names = new Set(changedRelations(before, after));
  for (const r of plan.renames) {
    if (r.kind === 'table') names.add(r.table).add(r.to);
    if (r.kind === 'type') names.add(r.type).add(r.to);
  }
  // Tables whose rows come back (their NOT VALID constraints are lifted for it), even if their shape did not change.
  for (const t of plan.backupTables) names.add(t);
  // A parent's statements recurse to its partitions and children: the revert checks those came back too.
  return withDescendants(before, names);
}
