// Chaos: `store.post` (a signal to the inbox) races `pruneEnded` on the same runs. Posters read a run (`getRun`, as
// every caller does first), yield, and post to it, again and again, while a pruner on another connection (SQLite:
// another process, test/support/prune-worker.mjs; PostgreSQL: another pool) deletes the runs as fast as it can. A
// post must either land before its run's prune (and go with it) or be refused with RUN_NOT_FOUND: no inbox row may
// be left for a run that is gone. Also, on PostgreSQL, the order of the two locks decided by hand: a post waits for
// a prune that deleted its run (then is refused), and a prune passes over a run a post holds (never waits). Short by
// default; CHAOS=long runs ten times as many runs.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { rolldown } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore, sqliteStore } from '../../src/index.js';
import type { StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { root } from '../support/cli.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

const LONG = process.env.CHAOS === 'long';
/** Runs per store; each is posted to until its prune refuses the post. */
const RUNS = LONG ? 4_000 : 400;
/** Runs seeded (ended, lease over: prunable at once) per round. */
const ROUND = 40;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Inbox rows whose run is gone: what the race must never leave. */
const ORPHANS = `SELECT count(*) AS n FROM flowstate_inbox i
  WHERE NOT EXISTS (SELECT 1 FROM flowstate_runs r WHERE r.id = i.run_id)`;

const ended = (id: string): StoredRun => ({
  id,
  workflow: 'wf',
  version: 'v1',
  status: 'done',
  input: {},
  output: 1,
  snapshot: '{}',
  createdAt: 1,
  updatedAt: 1,
});

interface Tally {
  posted: number;
  refused: number;
  /** A poster that found the run gone at its `getRun` (pruned between two posts). */
  readFirst: number;
}

/**
 * Seeds `RUNS` ended runs round by round and posts to each (read, yield, post) until the post is refused or the read
 * finds the run gone; `pruning` prunes concurrently. Any error but RUN_NOT_FOUND fails the test.
 */
async function postWhilePruned(store: WorkflowStore, prefix: string): Promise<Tally> {
  const tally: Tally = { posted: 0, refused: 0, readFirst: 0 };
  const poster = async (runId: string) => {
    for (;;) {
      if (!(await store.getRun(runId))) return void tally.readFirst++;
      // What a caller does between its read and its post (the window of the race): here a turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        const stored = await store.post({
          id: randomUUID(),
          runId,
          kind: 'event',
          body: '{"event":{"type":"go"}}',
          state: 'pending',
          createdAt: Date.now(),
        });
        expect(stored).toBe(true);
        tally.posted++;
      } catch (error) {
        expect(error, runId).toMatchObject({ code: 'RUN_NOT_FOUND', workflowId: runId });
        return void tally.refused++;
      }
    }
  };
  for (let round = 0; round < RUNS / ROUND; round++) {
    const ids = Array.from({ length: ROUND }, (_, i) => `${prefix}${round}-${i}`);
    await store.write({
      claims: ids.map((id) => ({ run: ended(id), owner: 'o', leaseUntil: 0 })),
      runs: [],
      journal: [],
    });
    await Promise.all(ids.map(poster));
  }
  return tally;
}

describe('post and prune racing on SQLite (two processes, one file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowstate-post-prune-'));
  const file = join(dir, 'race.db');
  // The stores bundled from source for the pruner process (in node_modules/.cache, so better-sqlite3 resolves).
  const bundle = join(root, 'node_modules/.cache/flowstate-post-prune-race-test');
  beforeAll(async () => {
    mkdirSync(bundle, { recursive: true });
    const build = await rolldown({
      input: { store: join(root, 'src/persistence/index.ts') },
      platform: 'node',
      external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
      logLevel: 'warn',
    });
    await build.write({ dir: bundle, format: 'esm' });
    await build.close();
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`leaves no inbox row of a pruned run (${RUNS} runs)`, async () => {
    const store = sqliteStore(file);
    const worker = new URL('../support/prune-worker.mjs', import.meta.url).pathname;
    const pruner = spawn(process.execPath, [worker, bundle, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    let errors = '';
    pruner.stdout.on('data', (d) => {
      said += String(d);
    });
    pruner.stderr.on('data', (d) => {
      errors += String(d);
    });
    const exited = new Promise((resolve) => pruner.once('exit', resolve));
    try {
      while (!said.includes('READY') && pruner.exitCode === null) await sleep(10);
      const started = Date.now();
      const tally = await postWhilePruned(store, 's');
      // The last runs pruned, then the pruner stops.
      for (let i = 0; i < 200 && ((await store.countRuns?.()) ?? 0) > 0; i++) await sleep(10);
      pruner.kill('SIGTERM');
      await exited;
      const [, pruned = '0', , failed = '-1'] = /PRUNED (\d+) (\d+) (\d+)/.exec(said) ?? [];
      expect(errors).toBe('');
      expect(Number(failed)).toBe(0);
      expect(Number(pruned)).toBe(RUNS);
      const db = new Database(file, { readonly: true });
      const orphans = (db.prepare(ORPHANS).get() as { n: number }).n;
      const rows = (db.prepare('SELECT count(*) AS n FROM flowstate_inbox').get() as { n: number }).n;
      db.close();
      console.log(
        `chaos post-prune-race sqlite: ${JSON.stringify({ runs: RUNS, ...tally, orphans, ms: Date.now() - started })}`,
      );
      expect(orphans).toBe(0);
      expect(rows).toBe(0);
      // The race was run: posts landed before prunes, and posts came after them.
      expect(tally.posted).toBeGreaterThan(0);
      expect(tally.refused).toBeGreaterThan(0);
    } finally {
      if (pruner.exitCode === null) pruner.kill('SIGKILL');
      await store.close();
    }
  }, 120_000);
});

describe('post and prune racing on PostgreSQL (two pools)', () => {
  let server: PostgresServer;
  let url: string;
  beforeAll(async () => {
    server = await startPostgres();
    url = await createDatabase(server, 'post_prune_race');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  const sql = async <R extends pg.QueryResultRow>(text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  };

  it(`leaves no inbox row of a pruned run (${RUNS} runs)`, async () => {
    const poster = postgresStore(url);
    const prunerStore = postgresStore(url);
    let stop = false;
    let pruned = 0;
    const pruner = (async () => {
      while (!stop) {
        const { runs } = (await prunerStore.pruneEnded?.({ endedBefore: Date.now() + 60_000, limit: 3 })) ?? {
          runs: 0,
        };
        pruned += runs;
        if (runs === 0) await sleep(Math.random() * 2);
      }
    })();
    try {
      const started = Date.now();
      const tally = await postWhilePruned(poster, 'p');
      for (let i = 0; i < 200 && ((await poster.countRuns?.()) ?? 0) > 0; i++) await sleep(10);
      stop = true;
      await pruner;
      const [{ n: orphans } = { n: '-1' }] = await sql<{ n: string }>(ORPHANS);
      const [{ n: rows } = { n: '-1' }] = await sql<{ n: string }>(
        'SELECT count(*) AS n FROM flowstate_inbox',
      );
      console.log(
        `chaos post-prune-race postgres: ${JSON.stringify({ runs: RUNS, ...tally, pruned, orphans: Number(orphans), ms: Date.now() - started })}`,
      );
      expect(Number(orphans)).toBe(0);
      expect(Number(rows)).toBe(0);
      expect(pruned).toBe(RUNS);
      expect(tally.posted).toBeGreaterThan(0);
      expect(tally.refused).toBeGreaterThan(0);
    } finally {
      stop = true;
      await pruner.catch(() => {});
      await poster.close();
      await prunerStore.close();
    }
  }, 120_000);

  it('a post waits for a prune that deleted its run and is refused; a prune passes over a run a post holds', async () => {
    const store = postgresStore(url);
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    const post = (id: string, runId: string) =>
      store.post({ id, runId, kind: 'cancel', body: '{}', state: 'pending', createdAt: 1 });
    try {
      await store.write({
        claims: ['d1', 'd2'].map((id) => ({ run: ended(id), owner: 'o', leaseUntil: 0 })),
        runs: [],
        journal: [],
      });
      // A prune's transaction, stopped before its commit: run and inbox rows deleted (its snapshot of the inbox taken).
      await other.query('BEGIN');
      await other.query("DELETE FROM flowstate_runs WHERE id = 'd1'");
      await other.query("DELETE FROM flowstate_inbox WHERE run_id = 'd1'");
      let settled: unknown = 'pending';
      const posting = post('m1', 'd1').then(
        (stored) => {
          settled = stored;
        },
        (error: { code?: string }) => {
          settled = error.code;
        },
      );
      await sleep(300);
      // Its run's row is locked by the prune: the post waits for it (it must not insert for a run being deleted).
      expect(settled).toBe('pending');
      await other.query('COMMIT');
      await posting;
      expect(settled).toBe('RUN_NOT_FOUND');
      expect(await sql(ORPHANS)).toEqual([{ n: '0' }]);
      expect(await store.getMessage('m1')).toBeUndefined();

      // A post's transaction, stopped after its lock: the run's row held FOR KEY SHARE, its inbox row inserted.
      await other.query('BEGIN');
      await other.query("SELECT 1 FROM flowstate_runs WHERE id = 'd2' FOR KEY SHARE");
      await other.query(
        "INSERT INTO flowstate_inbox (id, run_id, kind, body, state, created_at) VALUES ('m2', 'd2', 'cancel', '{}', 'pending', 1)",
      );
      // The prune does not wait for it: it skips the run (a later prune takes it).
      const started = Date.now();
      expect(await store.pruneEnded?.({ endedBefore: Date.now() + 60_000 })).toEqual({ runs: 0 });
      expect(Date.now() - started).toBeLessThan(1_000);
      await other.query('COMMIT');
      expect((await store.getMessage('m2'))?.state).toBe('pending');
      expect(await store.pruneEnded?.({ endedBefore: Date.now() + 60_000 })).toEqual({ runs: 1 });
      expect(await store.getMessage('m2')).toBeUndefined();
      expect(await sql(ORPHANS)).toEqual([{ n: '0' }]);
    } finally {
      await other.end().catch(() => {});
      await store.close();
    }
  });
});
