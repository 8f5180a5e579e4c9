/**
 * The verification after the apply: the schema must be what the dry run produced, and every table the migration
 * names must have the rows the dry run left (and, unless a statement changes rows on purpose, the rows it had).
 */
import type { Database } from '../../src/db/index.js';
import { MigrationError } from './errors.js';
import { countRows } from './execute.js';
import { renamedTo } from './plan.js';
import type { Applied, DryRun, Results, Verification } from './schemas.js';
import { compareSnapshots, describeDifference, takeSnapshot } from './snapshot.js';

/** Results once the migration is applied. */
export type AppliedResults = Results & { dryRun: DryRun; apply: Applied };

/** Verifies an applied migration; throws a `MigrationError` listing what does not match. */
export async function verify(db: Database, results: AppliedResults): Promise<Verification> {
  const { plan, dryRun } = results;
  const now = await takeSnapshot(db, plan.schema);
  const problems = compareSnapshots(dryRun.expected, now).map(describeDifference);
  const names = now.tables.map((t) => t.name);
  const rowCounts = [];
  for (const { table, rows: before } of plan.rows) {
    const current = renamedTo(table, plan.renames);
    const [counted] = await countRows(db, plan.schema, [current], names);
    const expected = dryRun.rows.find((r) => r.table === current)?.rows ?? null;
    const after = counted?.rows ?? null;
    rowCounts.push({ table: current, before, after, expected });
    if (after !== null && after !== before && !plan.dataChanged.includes(table)) {
      problems.push(`${current} went from ${before} to ${after} rows, though no statement changes its rows`);
    } else if (after !== expected) {
      problems.push(`${current} has ${after ?? 'no'} rows, the dry run left ${expected ?? 'none'}`);
    }
  }
  if (problems.length > 0) {
    throw new MigrationError(
      'MIGRATION_VERIFY_FAILED',
      `Verification failed: ${problems.slice(0, 8).join('; ')}`,
    );
  }
  return { schemaMatches: true, rowCounts };
}
