import type BetterSqlite3 from 'better-sqlite3';
import { ENDED_SQL } from './prune.js';
import type { PruneOptions } from './types.js';

/**
 * The runs a batch takes: ended, before the cut, no live lease. Read in end order on the ended runs' index (forced:
 * without statistics the planner would rather read every ended run through the status index and sort them all).
 */
const PRUNABLE = `FROM flowstate_runs INDEXED BY flowstate_runs_ended
  WHERE ${ENDED_SQL} AND updated_at < ? AND lease_until <= ?`;

/**
 * `pruneEnded` of the SQLite store, as one synchronous call: a dry run's count, or a batch in one transaction (the
 * caller runs it `immediate`, taking the write lock first, and retries it while another process holds that lock).
 * Inside it nothing else writes the file, so the runs read are the runs deleted; each run row is still deleted only
 * under the same conditions, and its other rows only after its own row went.
 */
export function sqlitePruner(db: BetterSqlite3.Database) {
  const select = db.prepare(`SELECT id ${PRUNABLE} ORDER BY updated_at, id LIMIT ?`);
  const count = db.prepare(`SELECT count(*) AS n FROM (SELECT 1 ${PRUNABLE} LIMIT ?)`);
  const deleteRun = db.prepare(
    `DELETE FROM flowstate_runs WHERE id = ? AND ${ENDED_SQL} AND updated_at < ? AND lease_until <= ?`,
  );
  const deleteRows = [
    db.prepare('DELETE FROM flowstate_journal WHERE run_id = ?'),
    db.prepare('DELETE FROM flowstate_timers WHERE run_id = ?'),
    db.prepare('DELETE FROM flowstate_inbox WHERE run_id = ?'),
  ];
  const batch = db.transaction((endedBefore: number, now: number, limit: number) => {
    const ids = (select.all(endedBefore, now, limit) as { id: string }[]).map((r) => r.id);
    let runs = 0;
    for (const id of ids) {
      if (deleteRun.run(id, endedBefore, now).changes === 0) continue;
      runs++;
      for (const statement of deleteRows) statement.run(id);
    }
    return runs;
  });
  return {
    /** Counts (dry run) or deletes one batch; returns how many runs. */
    prune({ endedBefore, limit, dryRun, now }: Required<PruneOptions>) {
      if (dryRun) return (count.get(endedBefore, now, limit) as { n: number }).n;
      return batch.immediate(endedBefore, now, limit);
    },
  };
}
