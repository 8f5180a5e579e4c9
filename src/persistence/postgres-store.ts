import { createRequire } from 'node:module';
import type pg from 'pg';
import { prunePostgres } from './postgres-prune.js';
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
import type {
  JournalEntry,
  RunCheckpoint,
  RunFilter,
  RunHeadFilter,
  StoreBatch,
  TimerRow,
  WorkflowStore,
} from './types.js';

const SCHEMA = storeSchema('BIGINT');
const LEASES = leaseColumns('BIGINT');
const MIGRATE = `${LEASES.columns.map(([name, type]) => `ALTER TABLE flowstate_runs ADD COLUMN IF NOT EXISTS ${name} ${type};`).join('\n')}
${LEASES.indexes}`;
const UNFINISHED_SQL = "status IN ('running', 'waiting')";
/** The channel on which a posted signal wakes the run's owner. */
const CHANNEL = 'flowstate_inbox';
const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * The store for many processes: PostgreSQL through `pg`. Give a `postgres://` URL (the store owns and closes its
 * pool) or a `pg.Pool` you own. Tables are created on first use (retried at the next call if the server is down).
 *
 * A batch is a handful of multi-row statements that take their rows in a fixed order (ids sorted), so engines
 * sharing the database never deadlock on each other. A connection lost while in use (server restart, terminated
 * backend) fails the call it served, never the process; the engine retries the write.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents, store: postgresStore(process.env.DATABASE_URL!), workflows: [wf] });
 * ```
 */
export function postgresStore(connection: string | pg.Pool): WorkflowStore {
  const owned = typeof connection === 'string';
  const driver = () => createRequire(import.meta.url)('pg') as typeof pg;
  const pool =
    typeof connection === 'string'
      ? // Loaded on first use, like the SQLite driver: importing flowstate stays cheap.
        new (driver().Pool)({ connectionString: connection, max: 4 })
      : connection;
  // An idle client dropped by the server (a restart, a failover) must not crash the process: the pool replaces it,
  // and a query that needs it fails with its own error.
  const ignore = () => {};
  pool.on('error', ignore);
  let ready: Promise<void> | undefined;
  // Concurrent CREATE IF NOT EXISTS can race in PostgreSQL; an advisory lock makes the first use serial. A failed
  // first use (server down) is not cached: the next call tries again.
  const init = () =>
    (ready ??= withClient(async (client) => {
      // Where the schema is complete already (the index the last migration creates exists), no DDL runs: even
      // `CREATE ... IF NOT EXISTS` takes table locks, which deadlocked with the batches of engines already running.
      const { rows } = await client.query<{ done: boolean }>(
        `SELECT to_regclass('flowstate_runs_created') IS NOT NULL AND to_regclass('flowstate_inbox_pending') IS NOT NULL
           AND to_regclass('flowstate_timers_deadline') IS NOT NULL
           AND to_regclass('flowstate_runs_owner_lease') IS NOT NULL
           AND to_regclass('flowstate_runs_ended') IS NOT NULL AND to_regclass('flowstate_inbox_run') IS NOT NULL AS done`,
      );
      if (rows[0]?.done) return;
      await client.query('SELECT pg_advisory_lock(74123)');
      try {
        await client.query(SCHEMA);
        await client.query(MIGRATE);
      } finally {
        await client.query('SELECT pg_advisory_unlock(74123)');
      }
    }).catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));

  /** A checked-out client with an `error` listener (an unhandled one would crash the process), released after. */
  async function withClient<T>(use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      return await use(client);
    } catch (error) {
      broken ??= isConnectionError(error) ? (error as Error) : undefined;
      throw error;
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed, not returned to the pool.
      client.release(broken ?? false);
    }
  }
  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    await init();
    return withClient((client) => client.query<R>(sql, params));
  };

  return {
    async write(batch: StoreBatch) {
      const claims = [...(batch.claims ?? [])].sort(byKey((c) => c.run.id));
      const runs = [...batch.runs].sort(byKey((c) => c.run.id));
      const journal = [...batch.journal].sort(byKey((j) => j.key));
      const inbox = [...(batch.inbox ?? [])].sort(byKey((r) => r.id));
      const history = [...(batch.history ?? [])].sort(byKey((h) => `${h.workflow}\0${h.kind}\0${h.path}`));
      if (!claims.length && !runs.length && !journal.length && !inbox.length && !history.length)
        return undefined;
      await init();
      return withClient(async (client) => {
        const refused: string[] = [];
        const fenced = new Set<string>();
        await client.query('BEGIN');
        try {
          if (claims.length > 0) {
            const columns = claimColumns(claims.map((c) => [...runValues(c.run), c.owner, c.leaseUntil]));
            const { rows } = await client.query<{ id: string }>(
              `INSERT INTO flowstate_runs (${RUN_COLUMNS.join(', ')}, owner, epoch, lease_until)
               SELECT c.id, c.workflow, c.version, c.status, c.input, c.output, c.error, c.snapshot, c.created_at,
                 c.updated_at, c.owner, 1, c.lease_until
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                 $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::bigint[]) WITH ORDINALITY
                 AS c(id, workflow, version, status, input, output, error, snapshot, created_at, updated_at, owner,
                   lease_until, n)
               ORDER BY c.n ON CONFLICT (id) DO NOTHING RETURNING id`,
              columns,
            );
            const inserted = new Set(rows.map((r) => r.id));
            for (const c of claims) if (!inserted.has(c.run.id)) refused.push(c.run.id);
          }
          // Row locks in id order first, on every run the batch writes for (checkpoints, journal entries, signal
          // answers): two transactions on overlapping runs wait, never deadlock, and no engine takes a run (acquire)
          // between this lease check and the commit. What each run's lease is now decides, here, what is written.
          const ids = [
            ...new Set([
              ...runs.map((c) => c.run.id),
              ...journal.map((j) => j.runId),
              ...inbox.map((r) => r.runId),
            ]),
          ].sort();
          const leases = new Map<string, { owner: string | null; epoch: number }>();
          if (ids.length > 0) {
            const { rows } = await client.query<{ id: string; owner: string | null; epoch: number }>(
              'SELECT id, owner, epoch FROM flowstate_runs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
              [ids],
            );
            for (const r of rows) leases.set(r.id, { owner: r.owner, epoch: Number(r.epoch) });
          }
          const holds = (id: string, lease: { owner: string; epoch: number }) => {
            const now = leases.get(id);
            const ok = now !== undefined && now.owner === lease.owner && now.epoch === lease.epoch;
            if (!ok) fenced.add(id);
            return ok;
          };
          const held = runs.filter((c) => holds(c.run.id, c.lease));
          const entries = journal.filter((j) => holds(j.runId, j.lease));
          const answers = inbox.filter((r) => holds(r.runId, r.lease));
          if (held.length > 0 || entries.length > 0) await writeRuns(client, held, entries);
          if (answers.length > 0) {
            await client.query(
              `UPDATE flowstate_inbox i SET state = u.state, result = u.result
               FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, state, result)
               WHERE i.id = u.id AND i.state = 'pending'`,
              [answers.map((r) => r.id), answers.map((r) => r.state), answers.map((r) => r.result)],
            );
          }
          if (history.length > 0) {
            await client.query(
              `INSERT INTO flowstate_durations (workflow, path, kind, state, updated_at)
               SELECT h.workflow, h.path, h.kind, h.state, h.updated_at
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY
                 AS h(workflow, path, kind, state, updated_at, n) ORDER BY h.n
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
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
        if (refused.length === 0 && fenced.size === 0) return undefined;
        return { ...(refused.length ? { refused } : {}), ...(fenced.size ? { fenced: [...fenced] } : {}) };
      });
    },
    async acquire(id, owner, now, leaseUntil) {
      const { rows } = await query<{ epoch: number }>(
        `UPDATE flowstate_runs SET owner = $1, epoch = epoch + 1, lease_until = $2
         WHERE id = $3 AND ${UNFINISHED_SQL} AND (owner IS NULL OR owner = $1 OR lease_until <= $4) RETURNING epoch`,
        [owner, leaseUntil, id, now],
      );
      const row = rows[0];
      return row ? { owner, epoch: Number(row.epoch) } : undefined;
    },
    async renew(owner, leaseUntil) {
      // Locks in id order, like the batches, so a renewal and a batch of the same engine never deadlock.
      const { rows } = await query<{ id: string; epoch: number }>(
        // Never shortened: a renewal issued before a run was taken again here must not end its newer lease sooner.
        `UPDATE flowstate_runs SET lease_until = GREATEST(lease_until, $1) WHERE id IN (
           SELECT id FROM flowstate_runs WHERE owner = $2 AND ${UNFINISHED_SQL} AND lease_until > 0
           ORDER BY id FOR UPDATE)
         RETURNING id, epoch`,
        [leaseUntil, owner],
      );
      return rows.map((r) => ({ id: r.id, owner, epoch: Number(r.epoch) }));
    },
    async release(owner, leases) {
      if (leases.length === 0) return;
      const sorted = [...leases].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      // Each run only at the epoch its releaser holds: a late release leaves a newer lease (same owner id) alone.
      await query(
        `UPDATE flowstate_runs SET lease_until = 0 WHERE id IN (
           SELECT r.id FROM flowstate_runs r JOIN unnest($1::text[], $2::bigint[]) AS l(id, epoch)
             ON r.id = l.id AND r.epoch = l.epoch
           WHERE r.owner = $3 AND r.${UNFINISHED_SQL}
           ORDER BY r.id FOR UPDATE OF r)`,
        [sorted.map((l) => l.id), sorted.map((l) => l.epoch), owner],
      );
    },
    async listAdoptable(now, limit, workflows, options) {
      const { rows } = await query<RunRow>(
        `SELECT * FROM flowstate_runs WHERE ${UNFINISHED_SQL} AND lease_until <= $1
           AND ($3::text[] IS NULL OR workflow = ANY($3::text[])) ${options?.busyOnly ? 'AND idle = 0' : ''}
           ORDER BY created_at, id LIMIT $2`,
        [now, limit, workflows ? [...workflows] : null],
      );
      return rows.map(listRunRow);
    },
    async listDue(before, now, limit, workflows) {
      // Whole milliseconds (the columns are bigint). Timers in deadline order on their index, runs probed by key.
      const only = workflows ? [...workflows] : null;
      const eligible = (
        lease: string,
        names: string,
      ) => `r.${UNFINISHED_SQL} AND r.idle = 1 AND r.lease_until <= ${lease}
        AND (${names}::text[] IS NULL OR r.workflow = ANY(${names}::text[]))`;
      const [timers, signals] = await Promise.all([
        query<{ id: string; workflow: string; due: string }>(
          `SELECT t.run_id AS id, r.workflow, t.deadline AS due FROM flowstate_timers t
           JOIN flowstate_runs r ON r.id = t.run_id WHERE t.deadline < $1 AND ${eligible('$2', '$4')}
           ORDER BY t.deadline LIMIT $3`,
          [Math.ceil(before), Math.floor(now), limit, only],
        ),
        query<{ id: string; workflow: string; due: string }>(
          `SELECT i.run_id AS id, r.workflow, MIN(i.created_at) AS due FROM flowstate_inbox i
           JOIN flowstate_runs r ON r.id = i.run_id WHERE i.state = 'pending' AND ${eligible('$1', '$3')}
           GROUP BY i.run_id, r.workflow ORDER BY due LIMIT $2`,
          [Math.floor(now), limit, only],
        ),
      ]);
      return mergeDue(timers.rows, signals.rows, limit);
    },
    async post(message) {
      // Stored only if its run is, under a lock on the run's row. A plain `WHERE EXISTS` is not enough under READ
      // COMMITTED: the statement reads a snapshot, in which a run that a prune has deleted but not yet committed is
      // still there, and the prune's own delete of the run's inbox rows (its snapshot taken before this insert
      // commits) never sees the new row: it would be left for no run, and its caller would wait for an answer until
      // it times out. `FOR KEY SHARE` (the weakest lock a DELETE conflicts with) orders the two: a run that a prune
      // deleted is waited for, then read again as it is once the prune committed (gone: nothing inserted, refused
      // below); a run locked here first is skipped by the prune (`FOR UPDATE SKIP LOCKED`: a prune never waits for a
      // post) and taken, with this row, by a later one. It does not conflict with a checkpoint's UPDATE.
      // The notification is sent when the insert commits: the owner wakes up to a row it can read.
      const { rows } = await query<{ found: boolean; stored: string }>(
        `WITH run AS (SELECT id FROM flowstate_runs WHERE id = $2 FOR KEY SHARE),
           m AS (INSERT INTO flowstate_inbox (id, run_id, kind, body, state, result, created_at)
             SELECT $1, run.id, $3, $4, 'pending', NULL, $5 FROM run ON CONFLICT (id) DO NOTHING RETURNING run_id)
         SELECT EXISTS (SELECT 1 FROM run) AS found,
           (SELECT count(*) FROM m, LATERAL pg_notify('${CHANNEL}', m.run_id)) AS stored`,
        [message.id, message.runId, message.kind, message.body, message.createdAt],
      );
      if (rows[0]?.found !== true) throw runNotFound(message.runId);
      // One row notified per row inserted: none when the id was stored already.
      return Number(rows[0].stored) > 0;
    },
    async pendingFor(owner, limit) {
      const { rows } = await query<InboxRow>(
        `SELECT i.* FROM flowstate_inbox i JOIN flowstate_runs r ON r.id = i.run_id
         WHERE i.state = 'pending' AND r.owner = $1 AND r.${UNFINISHED_SQL} AND r.lease_until > 0
         ORDER BY i.created_at, i.id LIMIT $2`,
        [owner, limit],
      );
      return rows.map(readInboxRow);
    },
    async deleteMessage(id) {
      await query('DELETE FROM flowstate_inbox WHERE id = $1', [id]);
    },
    async getMessage(id) {
      const { rows } = await query<InboxRow>('SELECT * FROM flowstate_inbox WHERE id = $1', [id]);
      return rows[0] ? readInboxRow(rows[0]) : undefined;
    },
    async listen(notify) {
      await init();
      // A dedicated connection (LISTEN needs one), re-opened after a server restart until the store closes.
      let client: pg.Client | undefined;
      let closed = false;
      let retry: NodeJS.Timeout | undefined;
      const open = async (): Promise<void> => {
        const c = new (driver().Client)(owned ? { connectionString: connection } : pool.options);
        c.on('error', () => {
          c.end().catch(() => {});
        });
        c.on('end', () => {
          if (client === c) client = undefined;
          if (!closed) retry = setTimeout(() => void open().catch(() => {}), 500);
        });
        c.on('notification', (n) => {
          if (n.channel === CHANNEL && n.payload) notify(n.payload);
        });
        try {
          await c.connect();
          await c.query(`LISTEN ${CHANNEL}`);
          client = c;
          if (closed) await c.end();
        } catch {
          await c.end().catch(() => {});
        }
      };
      await open();
      return async () => {
        closed = true;
        if (retry) clearTimeout(retry);
        await client?.end().catch(() => {});
      };
    },
    async getRun(id) {
      const { rows } = await query<RunRow>('SELECT * FROM flowstate_runs WHERE id = $1', [id]);
      const row = rows[0];
      if (!row) return undefined;
      return readRunRow(row);
    },
    async listRuns(filter: RunFilter = {}) {
      const { where, params } = runsWhere(filter);
      const dir = filter.order === 'newest' ? 'DESC' : 'ASC';
      params.push(filter.limit ?? 1000, filter.offset ?? 0);
      const { rows } = await query<RunRow>(
        `SELECT ${LIST_COLUMNS} FROM flowstate_runs ${where} ORDER BY created_at ${dir}, id ${dir} LIMIT $${params.length - 1} OFFSET $${params.length}`,
        params,
      );
      return rows.map(listRunRow);
    },
    async listRunHeads(filter: RunHeadFilter = {}) {
      if (filter.ids?.length === 0) return [];
      const { where, params } = runsWhere(filter);
      const dir = filter.order === 'newest' ? 'DESC' : 'ASC';
      params.push(filter.limit ?? 1000, filter.offset ?? 0);
      const { rows } = await query<RunRow>(
        `SELECT ${HEAD_COLUMNS} FROM flowstate_runs ${where} ORDER BY created_at ${dir}, id ${dir} LIMIT $${params.length - 1} OFFSET $${params.length}`,
        params,
      );
      return rows.map(listRunHead);
    },
    async countRuns(filter: RunFilter = {}) {
      const { where, params } = runsWhere(filter);
      const { rows } = await query<{ n: string }>(
        `SELECT count(*) AS n FROM flowstate_runs ${where}`,
        params,
      );
      return Number(rows[0]?.n ?? 0);
    },
    async listJournal(runId) {
      const { rows } = await query<JournalRow>(
        'SELECT * FROM flowstate_journal WHERE run_id = $1 ORDER BY created_at, key',
        [runId],
      );
      return rows.map(readJournalRow);
    },
    async listJournalUnder(runId, stepPathPrefix) {
      // The run's rows through its index, then the prefix compared exactly (LIKE would read `_` and `%` in paths).
      const { rows } = await query<JournalRow>(
        'SELECT * FROM flowstate_journal WHERE run_id = $1 AND left(step_path, length($2)) = $2',
        [runId, stepPathPrefix],
      );
      return rows.map(readJournalRow);
    },
    async getJournal(key) {
      const { rows } = await query<JournalRow>('SELECT * FROM flowstate_journal WHERE key = $1', [key]);
      const row = rows[0];
      return row ? readJournalRow(row) : undefined;
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
    async pruneEnded(options) {
      const settings = pruneSettings(options);
      await init();
      return { runs: await withClient((client) => prunePostgres(client, settings)) };
    },
    async close() {
      if (owned) await pool.end();
      else pool.off('error', ignore);
    },
  };
}

/** Values of a claim, column by column, for `unnest`. */
function claimColumns(rows: unknown[][]): unknown[][] {
  const width = rows[0]?.length ?? 0;
  return Array.from({ length: width }, (_, i) => rows.map((r) => r[i]));
}

/** Errors that mean the connection itself is gone (its client must not go back to the pool). */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')
  )
    return true;
  const message = (error as Error)?.message ?? '';
  return /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|not queryable/i.test(message);
}

/**
 * Checkpoints of the runs this batch holds, their timers, and their journal entries, in ONE statement (one round
 * trip): the journal insert and the timer changes ride along the run update as data-modifying CTEs. Timers are
 * replaced by deleting the ones no longer pending and upserting the pending ones, rows that never overlap within
 * the statement. A run restarted from its input (`resetJournal`) has its journal cleared in a statement before.
 */
async function writeRuns(
  client: pg.PoolClient,
  runs: readonly RunCheckpoint[],
  journal: readonly JournalEntry[],
): Promise<void> {
  const reset = runs.filter((c) => c.resetJournal).map((c) => c.run.id);
  if (reset.length > 0)
    await client.query('DELETE FROM flowstate_journal WHERE run_id = ANY($1::text[])', [reset]);
  const values = runs.map((c) => checkpointValues(c.run, c.resetJournal === true));
  const timers: TimerRow[] = runs.flatMap((c) => c.timers);
  await client.query(
    `WITH journal AS (
       INSERT INTO flowstate_journal (key, run_id, step_path, attempt, output, created_at)
       SELECT * FROM unnest($9::text[], $10::text[], $11::text[], $12::int[], $13::text[], $14::bigint[])
         AS j(key, run_id, step_path, attempt, output, created_at) ORDER BY key
       ON CONFLICT (key) DO NOTHING),
     pending AS (SELECT * FROM unnest($15::text[], $16::text[], $17::text[], $18::bigint[]) AS t(run_id, step_path, kind, deadline)),
     gone AS (
       DELETE FROM flowstate_timers d WHERE d.run_id = ANY($1::text[]) AND NOT EXISTS (
         SELECT 1 FROM pending p WHERE p.run_id = d.run_id AND p.step_path = d.step_path AND p.kind = d.kind)),
     timers AS (
       INSERT INTO flowstate_timers (run_id, step_path, kind, deadline) SELECT * FROM pending ORDER BY run_id, step_path, kind
       ON CONFLICT (run_id, step_path, kind) DO UPDATE SET deadline = excluded.deadline)
     UPDATE flowstate_runs r SET status = u.status, input = COALESCE(u.input, r.input), output = u.output,
       error = u.error, snapshot = u.snapshot, updated_at = u.updated_at, version = u.version, idle = u.idle
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[],
       $19::int[])
       AS u(id, status, input, output, error, snapshot, updated_at, version, idle)
     WHERE r.id = u.id`,
    [
      runs.map((c) => c.run.id),
      values.map((v) => v.status),
      values.map((v) => v.input),
      values.map((v) => v.output),
      values.map((v) => v.error),
      values.map((v) => v.snapshot),
      values.map((v) => v.updatedAt),
      values.map((v) => v.version),
      journal.map((e) => e.key),
      journal.map((e) => e.runId),
      journal.map((e) => e.stepPath),
      journal.map((e) => e.attempt),
      journal.map((e) => e.output),
      journal.map((e) => e.createdAt),
      timers.map((t) => t.runId),
      timers.map((t) => t.stepPath),
      timers.map((t) => t.kind),
      timers.map((t) => t.deadline),
      runs.map((c) => idleValue(c.idle)),
    ],
  );
}

/**
 * The WHERE clause of a run filter's `status` and `workflow` (and `ids`, of `listRunHeads`), with its parameters
 * ($1, $2...).
 */
function runsWhere(filter: RunHeadFilter): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.ids !== undefined) {
    params.push([...filter.ids]);
    where.push(`id = ANY($${params.length})`);
  }
  if (filter.status !== undefined) {
    params.push(([] as string[]).concat(filter.status));
    where.push(`status = ANY($${params.length})`);
  }
  if (filter.workflow !== undefined) {
    params.push(filter.workflow);
    where.push(`workflow = $${params.length}`);
  }
  if (filter.idle !== undefined) {
    params.push(idleValue(filter.idle));
    where.push(`idle = $${params.length}`);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}
