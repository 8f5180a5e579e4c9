import { createRequire } from 'node:module';
import type pg from 'pg';
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
import type { RunFilter, StoreBatch, TimerRow, WorkflowStore } from './types.js';

const SCHEMA = storeSchema('BIGINT');

/**
 * The store for many processes: PostgreSQL through `pg`. Give a `postgres://` URL (the store owns and closes its
 * pool) or a `pg.Pool` you own. Tables are created on first use.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents, store: postgresStore(process.env.DATABASE_URL!), workflows: [wf] });
 * ```
 */
export function postgresStore(connection: string | pg.Pool): WorkflowStore {
  const owned = typeof connection === 'string';
  const pool =
    typeof connection === 'string'
      ? // Loaded on first use, like the SQLite driver: importing flowstate stays cheap.
        new (createRequire(import.meta.url)('pg') as typeof pg).Pool({ connectionString: connection, max: 4 })
      : connection;
  // An idle client dropped by the server (a restart, a failover) must not crash the process: the pool replaces it,
  // and a query that needs it fails with its own error.
  if (owned) pool.on('error', () => {});
  let ready: Promise<void> | undefined;
  // Concurrent CREATE IF NOT EXISTS can race in PostgreSQL; an advisory lock makes the first use serial.
  const init = () =>
    (ready ??= (async () => {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(74123)');
        await client.query(SCHEMA);
        await client.query('SELECT pg_advisory_unlock(74123)');
      } finally {
        client.release();
      }
    })());
  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    await init();
    return pool.query<R>(sql, params);
  };

  return {
    async write(batch: StoreBatch) {
      const history = batch.history ?? [];
      if (batch.runs.length === 0 && batch.journal.length === 0 && history.length === 0) return undefined;
      const refused: string[] = [];
      await init();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        for (const { run, timers } of batch.runs) {
          const upserted = await client.query(
            `INSERT INTO flowstate_runs (${RUN_COLUMNS.join(', ')}) VALUES (${RUN_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, output = excluded.output, error = excluded.error,
               snapshot = excluded.snapshot, updated_at = excluded.updated_at
     WHERE flowstate_runs.created_at = excluded.created_at`,
            runValues(run),
          );
          // No row: the guard kept the row of another run with this id (and its timers stay that run's).
          if (upserted.rowCount === 0) {
            refused.push(run.id);
            continue;
          }
          await client.query('DELETE FROM flowstate_timers WHERE run_id = $1', [run.id]);
          if (timers.length > 0) {
            await client.query(
              `INSERT INTO flowstate_timers (run_id, step_path, kind, deadline)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) ON CONFLICT DO NOTHING`,
              [
                timers.map((t) => t.runId),
                timers.map((t) => t.stepPath),
                timers.map((t) => t.kind),
                timers.map((t) => t.deadline),
              ],
            );
          }
        }
        if (batch.journal.length > 0) {
          const j = batch.journal;
          await client.query(
            `INSERT INTO flowstate_journal (key, run_id, step_path, attempt, output, created_at)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[]) ON CONFLICT (key) DO NOTHING`,
            [
              j.map((e) => e.key),
              j.map((e) => e.runId),
              j.map((e) => e.stepPath),
              j.map((e) => e.attempt),
              j.map((e) => e.output),
              j.map((e) => e.createdAt),
            ],
          );
        }
        if (history.length > 0) {
          await client.query(
            `INSERT INTO flowstate_durations (workflow, path, kind, state, updated_at)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
             ON CONFLICT (workflow, kind, path) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
            [
              history.map((h) => h.workflow),
              history.map((h) => h.path),
              history.map((h) => h.kind),
              history.map((h) => h.state),
              history.map((h) => h.updatedAt),
            ],
          );
        }
        await client.query('COMMIT');
        return refused.length > 0 ? { refused } : undefined;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async getRun(id) {
      const { rows } = await query<RunRow>('SELECT * FROM flowstate_runs WHERE id = $1', [id]);
      const row = rows[0];
      if (!row) return undefined;
      return readRunRow(row);
    },
    async listRuns(filter: RunFilter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.status !== undefined) {
        params.push(([] as string[]).concat(filter.status));
        where.push(`status = ANY($${params.length})`);
      }
      if (filter.workflow !== undefined) {
        params.push(filter.workflow);
        where.push(`workflow = $${params.length}`);
      }
      params.push(filter.limit ?? 1000);
      const { rows } = await query<RunRow>(
        `SELECT * FROM flowstate_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT $${params.length}`,
        params,
      );
      return rows.map(listRunRow);
    },
    async getJournal(key) {
      const { rows } = await query<{
        key: string;
        run_id: string;
        step_path: string;
        attempt: number;
        output: string;
        created_at: string;
      }>('SELECT * FROM flowstate_journal WHERE key = $1', [key]);
      const row = rows[0];
      return row
        ? {
            key: row.key,
            runId: row.run_id,
            stepPath: row.step_path,
            attempt: row.attempt,
            output: row.output,
            createdAt: Number(row.created_at),
          }
        : undefined;
    },
    async listTimers(runId) {
      const { rows } = await query<{
        run_id: string;
        step_path: string;
        kind: TimerRow['kind'];
        deadline: string;
      }>('SELECT * FROM flowstate_timers WHERE run_id = $1 ORDER BY deadline', [runId]);
      return rows.map((r) => ({
        runId: r.run_id,
        stepPath: r.step_path,
        kind: r.kind,
        deadline: Number(r.deadline),
      }));
    },
    async loadHistory() {
      const { rows } = await query<HistoryRowData>('SELECT * FROM flowstate_durations');
      return readHistoryRows(rows);
    },
    async close() {
      if (owned) await pool.end();
    },
  };
}
