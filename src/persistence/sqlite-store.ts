import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreFaultError } from '../model/errors.js';
import { pruneSettings, runNotFound } from './prune.js';
import {
  checkpointValues,
  HEAD_COLUMNS,
  type HistoryRowData,
  type InboxRow,
  idleValue,
  type JournalRow,
  LIST_COLUMNS,
  leaseColumns,
  listRunHead,
  listRunRow,
  mergeDue,
  RUN_COLUMNS,
  type RunRow,
  readHistoryRows,
  readInboxRow,
  readJournalRow,
  readRunRow,
  runValues,
  storeSchema,
} from './rows.js';
import { sqlitePruner } from './sqlite-prune.js';
import type {
  DueRun,
  InboxMessage,
  RunFilter,
  RunHeadFilter,
  RunLease,
  StoreBatch,
  TimerRow,
  WorkflowStore,
} from './types.js';

const SCHEMA = storeSchema('INTEGER');
const LEASES = leaseColumns('INTEGER');
const UNFINISHED_SQL = "status IN ('running', 'waiting')";
/**
 * How long one SQLite call may wait for another process's lock. Short: better-sqlite3 is synchronous, so this wait
 * blocks the event loop; a busy database is retried asynchronously instead (see `busyRetry`).
 */
const BUSY_TIMEOUT_MS = 20;
/** How long a read keeps retrying a busy database before it fails. */
const READ_RETRY_MS = 10_000;
/** How long a write keeps retrying a busy database before the engine's writer hears of it (and retries it again). */
const WRITE_RETRY_MS = 2_000;

/**
 * The embedded store: SQLite through better-sqlite3, in WAL mode. Give a file path, or `':memory:'` for a store
 * that lives as long as the process.
 *
 * Several processes may share one file (replicas on one machine): leases keep one owner per run. A call that finds
 * the database locked by another process never blocks the event loop for more than a few milliseconds; it is retried
 * asynchronously. A file deleted or replaced under a running engine is noticed at the next write, which fails with a
 * `StoreFaultError` (and is retried) instead of writing into a file no one will read again.
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
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only a power loss can drop the last commits).
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  const present = new Set((db.pragma('table_info(flowstate_runs)') as { name: string }[]).map((c) => c.name));
  for (const [name, type] of LEASES.columns)
    if (!present.has(name)) db.exec(`ALTER TABLE flowstate_runs ADD COLUMN ${name} ${type}`);
  db.exec(LEASES.indexes);
  const file = path === ':memory:' || path === '' ? undefined : identity(path);

  const insertRun = db.prepare(
    `INSERT INTO flowstate_runs (${RUN_COLUMNS.join(', ')}, owner, epoch, lease_until)
     VALUES (${RUN_COLUMNS.map(() => '?').join(', ')}, ?, 1, ?) ON CONFLICT (id) DO NOTHING`,
  );
  const updateRun = db.prepare(
    `UPDATE flowstate_runs SET version = ?, status = ?, input = COALESCE(?, input), output = ?, error = ?, snapshot = ?,
       updated_at = ?, idle = ? WHERE id = ? AND owner = ? AND epoch = ?`,
  );
  const clearTimers = db.prepare('DELETE FROM flowstate_timers WHERE run_id = ?');
  const clearJournal = db.prepare('DELETE FROM flowstate_journal WHERE run_id = ?');
  const insertTimer = db.prepare(
    'INSERT OR REPLACE INTO flowstate_timers (run_id, step_path, kind, deadline) VALUES (?, ?, ?, ?)',
  );
  const insertJournal = db.prepare(
    `INSERT OR IGNORE INTO flowstate_journal (key, run_id, step_path, attempt, output, created_at)
     SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM flowstate_runs WHERE id = ? AND owner = ? AND epoch = ?)`,
  );
  const answerSignal = db.prepare(
    `UPDATE flowstate_inbox SET state = ?, result = ? WHERE id = ? AND state = 'pending'
     AND EXISTS (SELECT 1 FROM flowstate_runs WHERE id = ? AND owner = ? AND epoch = ?)`,
  );
  const upsertHistory = db.prepare(
    `INSERT INTO flowstate_durations (workflow, path, kind, state, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (workflow, kind, path) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
  );
  const acquireRun = db.prepare(
    `UPDATE flowstate_runs SET owner = ?, epoch = epoch + 1, lease_until = ?
     WHERE id = ? AND ${UNFINISHED_SQL} AND (owner IS NULL OR owner = ? OR lease_until <= ?) RETURNING epoch`,
  );
  const renewRuns = db.prepare(
    // Never shortened: a renewal issued before a run was taken again here must not end its newer lease sooner.
    `UPDATE flowstate_runs SET lease_until = MAX(lease_until, ?) WHERE owner = ? AND ${UNFINISHED_SQL} AND lease_until > 0
     RETURNING id, epoch`,
  );
  const releaseRun = db.prepare(
    `UPDATE flowstate_runs SET lease_until = 0 WHERE id = ? AND owner = ? AND epoch = ? AND ${UNFINISHED_SQL}`,
  );
  const selectAdoptable = db.prepare(
    `SELECT * FROM flowstate_runs WHERE ${UNFINISHED_SQL} AND lease_until <= ? ORDER BY created_at, id LIMIT ?`,
  );
  const insertSignal = db.prepare(
    `INSERT INTO flowstate_inbox (id, run_id, kind, body, state, result, created_at) VALUES (?, ?, ?, ?, 'pending', NULL, ?)
     ON CONFLICT (id) DO NOTHING`,
  );
  const runStored = db.prepare('SELECT 1 FROM flowstate_runs WHERE id = ?');
  const selectPending = db.prepare(
    // Pending signals first, each run probed by its key (CROSS JOIN keeps that order in SQLite): not every run the
    // owner ever held (its released ones included) through the owner index.
    `SELECT i.* FROM flowstate_inbox i CROSS JOIN flowstate_runs r ON r.id = i.run_id
     WHERE i.state = 'pending' AND r.owner = ? AND r.${UNFINISHED_SQL} AND r.lease_until > 0
     ORDER BY i.created_at, i.id LIMIT ?`,
  );
  const selectSignal = db.prepare('SELECT * FROM flowstate_inbox WHERE id = ?');
  const deleteSignal = db.prepare('DELETE FROM flowstate_inbox WHERE id = ?');
  const selectHistory = db.prepare('SELECT * FROM flowstate_durations');
  const selectRun = db.prepare('SELECT * FROM flowstate_runs WHERE id = ?');
  const selectJournal = db.prepare('SELECT * FROM flowstate_journal WHERE key = ?');
  const selectRunJournal = db.prepare(
    'SELECT * FROM flowstate_journal WHERE run_id = ? ORDER BY created_at, key',
  );
  // The run's rows through its index, then the prefix compared exactly (LIKE would read `_` and `%` in paths).
  const selectJournalUnder = db.prepare(
    'SELECT * FROM flowstate_journal WHERE run_id = ? AND substr(step_path, 1, length(?)) = ?',
  );
  const selectTimers = db.prepare('SELECT * FROM flowstate_timers WHERE run_id = ? ORDER BY deadline');
  const pruner = sqlitePruner(db);
  /**
   * A signal stored only if its run is: the check and the insert in one write transaction (run `immediate`, the
   * write lock taken first), so a prune in another process deletes the run, and its inbox rows, wholly before it
   * (the post finds no run) or wholly after it (the new row goes with the run). `undefined`: no run.
   */
  const postSignal = db.transaction((m: InboxMessage): boolean | undefined => {
    if (runStored.get(m.runId) === undefined) return undefined;
    return insertSignal.run(m.id, m.runId, m.kind, m.body, m.createdAt).changes > 0;
  });

  const writeBatch = db.transaction((batch: StoreBatch) => {
    const refused: string[] = [];
    const fenced = new Set<string>();
    for (const { run, owner, leaseUntil } of batch.claims ?? []) {
      if (insertRun.run(...runValues(run), owner, leaseUntil).changes === 0) refused.push(run.id);
    }
    for (const { run, timers, lease, resetJournal, idle } of batch.runs) {
      const v = checkpointValues(run, resetJournal === true);
      const updated = updateRun.run(
        v.version,
        v.status,
        v.input,
        v.output,
        v.error,
        v.snapshot,
        v.updatedAt,
        idleValue(idle),
        run.id,
        lease.owner,
        lease.epoch,
      );
      if (updated.changes === 0) {
        fenced.add(run.id);
        continue;
      }
      clearTimers.run(run.id);
      if (resetJournal) clearJournal.run(run.id);
      for (const t of timers) insertTimer.run(t.runId, t.stepPath, t.kind, t.deadline);
    }
    for (const j of batch.journal) {
      const { owner, epoch } = j.lease;
      const wrote = insertJournal.run(
        j.key,
        j.runId,
        j.stepPath,
        j.attempt,
        j.output,
        j.createdAt,
        j.runId,
        owner,
        epoch,
      );
      if (wrote.changes === 0 && !held(j.runId, j.lease)) fenced.add(j.runId);
    }
    for (const r of batch.inbox ?? [])
      answerSignal.run(r.state, r.result, r.id, r.runId, r.lease.owner, r.lease.epoch);
    for (const h of batch.history ?? []) upsertHistory.run(h.workflow, h.path, h.kind, h.state, h.updatedAt);
    return { refused, fenced: [...fenced] };
  });
  const held = (id: string, lease: RunLease) => {
    const row = selectRun.get(id) as RunRow | undefined;
    return row !== undefined && row.owner === lease.owner && Number(row.epoch) === lease.epoch;
  };
  const checkFile = () => {
    if (file && !sameFile(path, file)) {
      throw new StoreFaultError(`The SQLite file '${path}' was deleted or replaced while the engine used it`);
    }
  };

  return {
    async write(batch) {
      checkFile();
      const { refused, fenced } = await busyRetry(() => writeBatch.immediate(batch), WRITE_RETRY_MS);
      if (refused.length === 0 && fenced.length === 0) return undefined;
      return { ...(refused.length ? { refused } : {}), ...(fenced.length ? { fenced } : {}) };
    },
    async acquire(id, owner, now, leaseUntil) {
      checkFile();
      const row = (await busyRetry(() => acquireRun.get(owner, leaseUntil, id, owner, now))) as
        | { epoch: number }
        | undefined;
      return row ? { owner, epoch: Number(row.epoch) } : undefined;
    },
    async renew(owner, leaseUntil) {
      checkFile();
      const rows = (await busyRetry(() => renewRuns.all(leaseUntil, owner))) as {
        id: string;
        epoch: number;
      }[];
      return rows.map((r) => ({ id: r.id, owner, epoch: Number(r.epoch) }));
    },
    async release(owner, leases) {
      const releaseAll = db.transaction(() => {
        for (const { id, epoch } of leases) releaseRun.run(id, owner, epoch);
      });
      await busyRetry(() => releaseAll.immediate());
    },
    async listAdoptable(now, limit, workflows, options) {
      if (!workflows && !options?.busyOnly)
        return ((await busyRetry(() => selectAdoptable.all(now, limit))) as RunRow[]).map(listRunRow);
      if (workflows?.length === 0) return [];
      const sql = `SELECT * FROM flowstate_runs WHERE ${UNFINISHED_SQL} AND lease_until <= ?
        ${options?.busyOnly ? 'AND idle = 0' : ''}
        ${workflows ? `AND workflow IN (${workflows.map(() => '?').join(', ')})` : ''} ORDER BY created_at, id LIMIT ?`;
      return ((await busyRetry(() => db.prepare(sql).all(now, ...(workflows ?? []), limit))) as RunRow[]).map(
        listRunRow,
      );
    },
    async listDue(before, now, limit, workflows) {
      if (workflows?.length === 0) return [];
      const only = workflows ? `AND r.workflow IN (${workflows.map(() => '?').join(', ')})` : '';
      const eligible = `r.${UNFINISHED_SQL} AND r.idle = 1 AND r.lease_until <= ? ${only}`;
      // Timers walked in deadline order on their index (forced: the planner would rather group by run over every
      // timer), each run probed by its key, until `limit` rows: a read costs the runs due soon, not the store.
      const timers = `SELECT t.run_id AS id, r.workflow AS workflow, t.deadline AS due
        FROM flowstate_timers t INDEXED BY flowstate_timers_deadline CROSS JOIN flowstate_runs r ON r.id = t.run_id
        WHERE t.deadline < ? AND ${eligible} ORDER BY t.deadline LIMIT ?`;
      const signals = `SELECT i.run_id AS id, r.workflow AS workflow, MIN(i.created_at) AS due
        FROM flowstate_inbox i CROSS JOIN flowstate_runs r ON r.id = i.run_id
        WHERE i.state = 'pending' AND ${eligible} GROUP BY i.run_id, r.workflow ORDER BY due LIMIT ?`;
      const names = workflows ?? [];
      const [due, signalled] = await busyRetry(() => [
        db.prepare(timers).all(before, now, ...names, limit) as DueRun[],
        db.prepare(signals).all(now, ...names, limit) as DueRun[],
      ]);
      return mergeDue(due ?? [], signalled ?? [], limit);
    },
    async post(message) {
      // Safe to retry: a signal whose id is stored is left as it is.
      const stored = await busyRetry(() => postSignal.immediate(message));
      if (stored === undefined) throw runNotFound(message.runId);
      return stored;
    },
    async pendingFor(owner, limit) {
      return ((await busyRetry(() => selectPending.all(owner, limit))) as InboxRow[]).map(readInboxRow);
    },
    async getMessage(id) {
      const row = (await busyRetry(() => selectSignal.get(id))) as InboxRow | undefined;
      return row ? readInboxRow(row) : undefined;
    },
    async deleteMessage(id) {
      await busyRetry(() => deleteSignal.run(id));
    },
    async getRun(id) {
      const row = (await busyRetry(() => selectRun.get(id))) as RunRow | undefined;
      if (!row) return undefined;
      return readRunRow(row);
    },
    async listRuns(filter: RunFilter = {}) {
      const { where, params } = runsWhere(filter);
      const dir = filter.order === 'newest' ? 'DESC' : 'ASC';
      const sql = `SELECT ${LIST_COLUMNS} FROM flowstate_runs ${where} ORDER BY created_at ${dir}, id ${dir} LIMIT ? OFFSET ?`;
      const page = [filter.limit ?? 1000, filter.offset ?? 0];
      const rows = (await busyRetry(() => db.prepare(sql).all(...params, ...page))) as RunRow[];
      return rows.map(listRunRow);
    },
    async listRunHeads(filter: RunHeadFilter = {}) {
      if (filter.ids?.length === 0) return [];
      const { where, params } = runsWhere(filter);
      const dir = filter.order === 'newest' ? 'DESC' : 'ASC';
      const sql = `SELECT ${HEAD_COLUMNS} FROM flowstate_runs ${where} ORDER BY created_at ${dir}, id ${dir} LIMIT ? OFFSET ?`;
      const page = [filter.limit ?? 1000, filter.offset ?? 0];
      const rows = (await busyRetry(() => db.prepare(sql).all(...params, ...page))) as RunRow[];
      return rows.map(listRunHead);
    },
    async countRuns(filter: RunFilter = {}) {
      const { where, params } = runsWhere(filter);
      const sql = `SELECT count(*) AS n FROM flowstate_runs ${where}`;
      return ((await busyRetry(() => db.prepare(sql).get(...params))) as { n: number }).n;
    },
    async listJournal(runId) {
      const rows = (await busyRetry(() => selectRunJournal.all(runId))) as JournalRow[];
      return rows.map(readJournalRow);
    },
    async listJournalUnder(runId, stepPathPrefix) {
      const rows = (await busyRetry(() =>
        selectJournalUnder.all(runId, stepPathPrefix, stepPathPrefix),
      )) as JournalRow[];
      return rows.map(readJournalRow);
    },
    async getJournal(key) {
      const row = (await busyRetry(() => selectJournal.get(key))) as JournalRow | undefined;
      return row ? readJournalRow(row) : undefined;
    },
    async listTimers(runId) {
      const rows = (await busyRetry(() => selectTimers.all(runId))) as {
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
      return readHistoryRows((await busyRetry(() => selectHistory.all())) as HistoryRowData[]);
    },
    async pruneEnded(options) {
      const settings = pruneSettings(options);
      if (!settings.dryRun) checkFile();
      // Waits for another process's lock asynchronously, as long as a read would: no writer retries it after.
      return { runs: await busyRetry(() => pruner.prune(settings)) };
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

/**
 * Runs a synchronous SQLite call, retrying it asynchronously while another process holds the lock (`SQLITE_BUSY`),
 * for up to `retryMs`.
 */
async function busyRetry<T>(call: () => T, retryMs = READ_RETRY_MS): Promise<T> {
  const until = Date.now() + retryMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    try {
      return call();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if ((code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') || Date.now() >= until) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** A file's identity (device and inode), to notice it deleted or replaced. */
function identity(path: string): { dev: number; ino: number } | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? { dev: stat.dev, ino: stat.ino } : undefined;
}

function sameFile(path: string, was: { dev: number; ino: number }): boolean {
  const now = identity(path);
  return now !== undefined && now.dev === was.dev && now.ino === was.ino;
}

/** The WHERE clause of a run filter's `status` and `workflow` (and `ids`, of `listRunHeads`), with its parameters. */
function runsWhere(filter: RunHeadFilter): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.ids !== undefined) {
    // One parameter however many ids (SQLite limits the number of parameters of a statement).
    where.push('id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.ids));
  }
  if (filter.status !== undefined) {
    const statuses = ([] as string[]).concat(filter.status);
    where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
    params.push(...statuses);
  }
  if (filter.workflow !== undefined) {
    where.push('workflow = ?');
    params.push(filter.workflow);
  }
  if (filter.idle !== undefined) {
    where.push('idle = ?');
    params.push(idleValue(filter.idle));
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}
