import type pg from 'pg';
import { ENDED_SQL } from './prune.js';
import type { PruneOptions } from './types.js';

/** Ended before the cut, no live lease ($1 the cut, $2 now): read oldest first on the ended runs' index. */
const PRUNABLE = `FROM flowstate_runs WHERE ${ENDED_SQL} AND updated_at < $1 AND lease_until <= $2`;

/**
 * `pruneEnded` of the PostgreSQL store on a checked-out client: a dry run's count, or one batch in one transaction.
 *
 * The runs are locked `FOR UPDATE SKIP LOCKED` and deleted in the same statement: PostgreSQL checks the conditions
 * again on the row it locks (a run written since the statement's snapshot is read as it is now), and a run a
 * writer holds at that moment is skipped, never waited for. So the batch never waits on an engine's row locks (no
 * deadlock with batches, which lock runs in id order), and a run that changed between the read and the delete is
 * deleted only if it still qualifies. Its journal, timers and inbox rows go after its row, in the same transaction:
 * an engine writes those only under the run row's lock, which a deleted run no longer has.
 */
export async function prunePostgres(
  client: pg.PoolClient,
  { endedBefore, limit, dryRun, now }: Required<PruneOptions>,
): Promise<number> {
  if (dryRun) {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 ${PRUNABLE} LIMIT $3) t`,
      [endedBefore, now, limit],
    );
    return Number(rows[0]?.n ?? 0);
  }
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ id: string }>(
      `DELETE FROM flowstate_runs r WHERE r.id IN (
         SELECT id ${PRUNABLE} ORDER BY updated_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING r.id`,
      [endedBefore, now, limit],
    );
    const ids = rows.map((r) => r.id).sort();
    if (ids.length > 0) {
      for (const table of ['flowstate_journal', 'flowstate_timers', 'flowstate_inbox'])
        await client.query(`DELETE FROM ${table} WHERE run_id = ANY($1::text[])`, [ids]);
    }
    await client.query('COMMIT');
    return ids.length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
