import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import {
  type HistoryRowData,
  listRunRow,
  RUN_COLUMNS,
  type RunRow,
  readHistoryRows,
  readRunRow,
  runValues,
  storeSchema,
} from './rows.js';
import type { JournalEntry, RunFilter, StoreBatch, TimerRow, WorkflowStore } from './types.js';

const SCHEMA = storeSchema('INTEGER');

/**
 * The embedded store: SQLite through better-sqlite3, in WAL mode. Give a file path, or `':memory:'` for a store
 * that lives as long as the process.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents, store: sqliteStore('./flowstate.db'), workflows: [wf] });
 * await engine.recover(); // after a crash: every unfinished run continues
 * ```
 */
export function sqliteStore(path: string): WorkflowStore {
  // Loaded on first use: the native driver costs tens of milliseconds at import, and most engines never need it.
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only a power loss can drop the last commits).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  const upsertRun = db.prepare(
    `INSERT INTO flowstate_runs (${RUN_COLUMNS.join(', ')}) VALUES (${RUN_COLUMNS.map(() => '?').join(', ')})
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, output = excluded.output, error = excluded.error,
       snapshot = excluded.snapshot, updated_at = excluded.updated_at
     WHERE flowstate_runs.created_at = excluded.created_at`,
  );
  const clearTimers = db.prepare('DELETE FROM flowstate_timers WHERE run_id = ?');
  const insertTimer = db.prepare(
    'INSERT OR REPLACE INTO flowstate_timers (run_id, step_path, kind, deadline) VALUES (?, ?, ?, ?)',
  );
  const insertJournal = db.prepare(
    'INSERT OR IGNORE INTO flowstate_journal (key, run_id, step_path, attempt, output, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const upsertHistory = db.prepare(
    `INSERT INTO flowstate_durations (workflow, path, kind, state, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (workflow, kind, path) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
  );
  const selectHistory = db.prepare('SELECT * FROM flowstate_durations');
  const selectRun = db.prepare('SELECT * FROM flowstate_runs WHERE id = ?');
  const selectJournal = db.prepare('SELECT * FROM flowstate_journal WHERE key = ?');
  const selectTimers = db.prepare('SELECT * FROM flowstate_timers WHERE run_id = ? ORDER BY deadline');
  const writeBatch = db.transaction((batch: StoreBatch) => {
    const refused: string[] = [];
    for (const { run, timers } of batch.runs) {
      // No change: the guard kept the row of another run with this id (and its timers stay that run's).
      if (upsertRun.run(...runValues(run)).changes === 0) {
        refused.push(run.id);
        continue;
      }
      clearTimers.run(run.id);
      for (const t of timers) insertTimer.run(t.runId, t.stepPath, t.kind, t.deadline);
    }
    for (const j of batch.journal)
      insertJournal.run(j.key, j.runId, j.stepPath, j.attempt, j.output, j.createdAt);
    for (const h of batch.history ?? []) upsertHistory.run(h.workflow, h.path, h.kind, h.state, h.updatedAt);
    return refused;
  });

  return {
    async write(batch) {
      const refused = writeBatch(batch);
      return refused.length > 0 ? { refused } : undefined;
    },
    async getRun(id) {
      const row = selectRun.get(id) as RunRow | undefined;
      if (!row) return undefined;
      return readRunRow(row);
    },
    async listRuns(filter: RunFilter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.status !== undefined) {
        const statuses = ([] as string[]).concat(filter.status);
        where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
        params.push(...statuses);
      }
      if (filter.workflow !== undefined) {
        where.push('workflow = ?');
        params.push(filter.workflow);
      }
      const sql = `SELECT * FROM flowstate_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ?`;
      const rows = db.prepare(sql).all(...params, filter.limit ?? 1000) as RunRow[];
      return rows.map(listRunRow);
    },
    async getJournal(key) {
      const row = selectJournal.get(key) as
        | {
            key: string;
            run_id: string;
            step_path: string;
            attempt: number;
            output: string;
            created_at: number;
          }
        | undefined;
      if (!row) return undefined;
      const entry: JournalEntry = {
        key: row.key,
        runId: row.run_id,
        stepPath: row.step_path,
        attempt: row.attempt,
        output: row.output,
        createdAt: row.created_at,
      };
      return entry;
    },
    async listTimers(runId) {
      const rows = selectTimers.all(runId) as {
        run_id: string;
        step_path: string;
        kind: TimerRow['kind'];
        deadline: number;
      }[];
      return rows.map((r) => ({
        runId: r.run_id,
        stepPath: r.step_path,
        kind: r.kind,
        deadline: r.deadline,
      }));
    },
    async loadHistory() {
      return readHistoryRows(selectHistory.all() as HistoryRowData[]);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
