// Chaos (issue 12): the store fails under one worker process running runs (the built package, chaos-worker.mjs).
// (a) PostgreSQL is stopped (`pg_ctl stop -m fast`) for a while and started again on the same port and data;
// (b) every backend of the worker's database is terminated again and again; (c) another process holds a SQLite
// `BEGIN EXCLUSIVE` for 1-2 s, several times. Each time: the process never crashes (exits 0 with ALL DONE), no run
// fails, every run ends done with the right output, no journaled step runs again; for SQLite the worker's event loop
// never stalls (a 10 ms interval in the worker measures it).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresStore, sqliteStore, type WorkflowStore } from '../../src/index.js';
import {
  alive,
  callsByKey,
  chaosFixture,
  journalFigures,
  LONG,
  readLedger,
  seeded,
  sleep,
  spawnWorker,
  strayStderr,
  type Worker,
  wrongRuns,
} from '../support/chaos.js';
import { createDatabase } from '../support/postgres.js';

const SIZE = LONG
  ? { stop: { runs: 200, outages: 10, downMs: 5_000, upMs: 2_000, startEveryMs: 300 } }
  : { stop: { runs: 40, outages: 2, downMs: 2_000, upMs: 1_000, startEveryMs: 150 } };
const TERMINATE = LONG ? { runs: 200, startEveryMs: 150 } : { runs: 40, startEveryMs: 75 };
const LOCKS = LONG ? { runs: 200, locks: 10, startEveryMs: 250 } : { runs: 40, locks: 3, startEveryMs: 150 };
/** The longest the SQLite worker's event loop may stall (its own waits on the lock are 20 ms each). */
const MAX_LAG_MS = 200;

const fixture = chaosFixture('faults');
const { dir } = fixture;

/**
 * Runs `runs` runs in one worker process while `fault` plays; then checks the process and the store. The drain file
 * exists from the start: the worker exits once every run ended.
 */
async function underFault<F extends Record<string, number>>(
  name: string,
  kind: 'sqlite' | 'postgres',
  target: string,
  size: { runs: number; startEveryMs: number },
  fault: (worker: Worker, windows: [number, number][]) => Promise<F>,
) {
  const open = (): WorkflowStore => (kind === 'sqlite' ? sqliteStore(target) : postgresStore(target));
  const init = open();
  await init.listRuns({ limit: 1 });
  await init.close();
  const ledger = join(dir, `${name}.ledger`);
  const drainFile = join(dir, `${name}.drain`);
  writeFileSync(ledger, '');
  writeFileSync(drainFile, '');
  const started = Date.now();
  const worker = spawnWorker({
    kind,
    target,
    ledger,
    owner: `fault-${name}`,
    ttlMs: 3_000,
    total: size.runs,
    slot: 0,
    slots: 1,
    concurrency: 8,
    drainFile,
    startEveryMs: size.startEveryMs,
    lag: true,
  });
  await worker.next('READY', 30_000);
  /** When the store was down or locked: runs must have been in the middle of their steps across them. */
  const windows: [number, number][] = [];
  const faults = await fault(worker, windows);
  const { code } = await Promise.race([
    worker.exited,
    sleep(LONG ? 600_000 : 120_000).then(() => ({ code: 'timeout' })),
  ]);
  const seconds = (Date.now() - started) / 1000;
  const store = open();
  try {
    const stored = await wrongRuns(store, size.runs);
    const ledgerLines = readLedger(ledger);
    const calls = callsByKey(ledgerLines);
    const journal = await journalFigures(store, calls);
    const span = new Map<string, [number, number]>();
    for (const { key, t } of ledgerLines) {
      const id = key.split(':')[0] as string;
      const [first, last] = span.get(id) ?? [t, t];
      span.set(id, [Math.min(first, t), Math.max(last, t)]);
    }
    const runsAcrossFaults = [...span.values()].filter(([first, last]) =>
      windows.some(([from, to]) => first < from && last > to),
    ).length;
    const stderr = worker.stderr.split('\n');
    const figures = {
      runs: size.runs,
      ...faults,
      exitCode: code,
      allDone: worker.stdout.includes('ALL DONE'),
      failed: worker.events.filter((e) => e.tag === 'FAILED').length,
      lost: stored.lost.length,
      wrong: stored.wrong.length,
      calls: [...calls.values()].reduce((n, list) => n + list.length, 0),
      ...journal,
      runsAcrossFaults,
      storeErrorLogs: stderr.filter((l) => /store (write|read) failed/.test(l)).length,
      maxLagMs: Number(worker.events.find((e) => e.tag === 'LAG')?.args[0] ?? Number.NaN),
      seconds,
    };
    console.log(`chaos store-faults-${name}: ${JSON.stringify(figures)}`);
    return {
      figures,
      stray: strayStderr(worker.stderr),
      failed: worker.events.filter((e) => e.tag === 'FAILED').map((e) => e.args.join(' ')),
      wrong: stored.wrong.slice(0, 3),
      lostIds: stored.lost.slice(0, 10),
    };
  } finally {
    await store.close();
  }
}

interface FaultOutcome {
  readonly figures: { exitCode: unknown; allDone: boolean; reExecutedJournaled: number };
  readonly stray: string[];
  readonly failed: string[];
  readonly wrong: unknown[];
  readonly lostIds: string[];
}

function expectHealthy(result: FaultOutcome) {
  const { figures } = result;
  expect(result.stray).toEqual([]);
  expect(figures.exitCode).toBe(0);
  expect(figures.allDone).toBe(true);
  expect(result.failed).toEqual([]);
  expect(result.wrong).toEqual([]);
  expect(result.lostIds).toEqual([]);
  expect(figures.reExecutedJournaled).toBe(0);
}

describe('store faults under a running worker', () => {
  it(`PostgreSQL stopped ${SIZE.stop.outages} times for ${SIZE.stop.downMs} ms: no crash, no failed run`, async () => {
    const server = fixture.pg();
    const { runs, outages, downMs, upMs, startEveryMs } = SIZE.stop;
    const target = await createDatabase(server, `faults_stop_${Date.now()}`);
    const result = await underFault(
      'pg-stop',
      'postgres',
      target,
      { runs, startEveryMs },
      async (worker, windows) => {
        let done = 0;
        let down = 0;
        await sleep(500);
        while (done < outages && alive(worker)) {
          const t = Date.now();
          await server.halt();
          try {
            await sleep(downMs);
          } finally {
            await server.restart();
          }
          windows.push([t, Date.now()]);
          down += Date.now() - t;
          done++;
          await sleep(upMs);
        }
        return { outages: done, downSeconds: down / 1000 };
      },
    );
    expectHealthy(result);
    // The runs outlast the outages: every one of them happened while the worker ran.
    expect(result.figures.outages).toBe(outages);
    expect(result.figures.runsAcrossFaults).toBeGreaterThan(0);
    expect(result.figures.storeErrorLogs).toBeGreaterThan(0);
  }, 900_000);

  it('PostgreSQL backends terminated again and again mid-run: no crash, no failed run', async () => {
    const server = fixture.pg();
    const name = `faults_term_${Date.now()}`;
    const target = await createDatabase(server, name);
    const random = seeded(99);
    const result = await underFault(
      'pg-terminate',
      'postgres',
      target,
      TERMINATE,
      async (worker, windows) => {
        let rounds = 0;
        let backends = 0;
        await sleep(200);
        while (alive(worker)) {
          const t = Date.now();
          const ended = await server.terminateBackends(name);
          if (ended > 0) windows.push([t, t]);
          backends += ended;
          rounds++;
          await sleep(200 + random() * 400);
        }
        return { terminations: rounds, backendsTerminated: backends };
      },
    );
    expectHealthy(result);
    expect(result.figures.terminations).toBeGreaterThanOrEqual(3);
    expect(result.figures.backendsTerminated).toBeGreaterThan(0);
    expect(result.figures.runsAcrossFaults).toBeGreaterThan(0);
  }, 900_000);

  it(`SQLite locked by another process ${LOCKS.locks} times for 1-2 s: the worker's loop never stalls`, async () => {
    const file = join(dir, 'locked.db');
    const random = seeded(7);
    const { default: Database } = await import('better-sqlite3');
    const result = await underFault('sqlite-lock', 'sqlite', file, LOCKS, async (worker, windows) => {
      const db = new Database(file);
      db.pragma('busy_timeout = 0');
      let held = 0;
      let heldMs = 0;
      try {
        await sleep(300);
        while (held < LOCKS.locks && alive(worker)) {
          // Take the lock without blocking this process either: retry while the worker holds it for a moment.
          for (;;) {
            try {
              db.exec('BEGIN EXCLUSIVE');
              break;
            } catch (error) {
              if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
              await sleep(1);
            }
          }
          const t = Date.now();
          await sleep(1_000 + random() * 1_000);
          db.exec('COMMIT');
          windows.push([t, Date.now()]);
          heldMs += Date.now() - t;
          held++;
          await sleep(300 + random() * 500);
        }
      } finally {
        if (db.inTransaction) db.exec('ROLLBACK');
        db.close();
      }
      return { locks: held, lockedSeconds: heldMs / 1000 };
    });
    expectHealthy(result);
    expect(result.figures.locks).toBe(LOCKS.locks);
    expect(result.figures.runsAcrossFaults).toBeGreaterThan(0);
    expect(result.figures.maxLagMs).toBeLessThan(MAX_LAG_MS);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
  }, 900_000);
});
