import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore, sqliteStore, type WorkflowStore } from '../../src/index.js';
// @ts-expect-error plain ESM helper shared with the worker process
import { BACKOFF_MS, ESCALATION_MS, expectedOutput } from '../support/crash-workflow.mjs';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

/** The default run is CI-sized; `npm run test:crash` sets the long mode (1,000 runs, 200 kills). */
const RUNS = Number(process.env.CRASH_RUNS ?? 200);
const KILLS = Number(process.env.CRASH_KILLS ?? 40);
/** Runs in flight per worker: low enough that the work outlasts the kills. */
const CONCURRENCY = Number(process.env.CRASH_CONCURRENCY ?? 4);
const worker = new URL('../support/crash-worker.mjs', import.meta.url).pathname;

interface LedgerLine {
  key: string;
  event: 'call' | 'fail';
  pid: number;
  t: number;
}

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'flowstate-crash-'));
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function launch(kind: string, target: string, ledger: string, exitAfter = 0): ChildProcess {
  return spawn(
    process.execPath,
    [worker, kind, target, ledger, String(RUNS), String(CONCURRENCY), String(exitAfter)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Results a process reported (`RESULT <run> <time>`) just before it was killed or exited. */
const reported = new Map<string, number>();
function collectResults(child: ChildProcess) {
  let buffer = '';
  child.stdout?.on('data', (d) => {
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const [tag, id, t] = line.split(' ');
      if (tag === 'RESULT' && id && !reported.has(id)) reported.set(id, Number(t));
    }
  });
}

/**
 * Runs incarnations of the worker: two of three are killed with SIGKILL 5-500 ms in, the third exits by itself
 * (no close, no flush) right after its first 1-3 results. Then a last one finishes.
 */
async function crashAndRecover(kind: string, target: string, ledger: string) {
  let kills = 0;
  let exits = 0;
  let random = 42;
  const next = () => {
    random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
    return random / 2 ** 31;
  };
  while (kills < KILLS) {
    if ((kills + exits) % 3 === 2) {
      const child = launch(kind, target, ledger, 1 + Math.floor(next() * 3));
      collectResults(child);
      let said = '';
      child.stdout?.on('data', (d) => (said += d));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code).toBe(0);
      exits++;
      if (said.includes('ALL DONE')) break;
      continue;
    }
    const child = launch(kind, target, ledger);
    collectResults(child);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitMs = 5 + Math.floor(next() * 495);
    const finished = await Promise.race([
      exited.then(() => true),
      new Promise((r) => setTimeout(() => r(false), waitMs)),
    ]);
    if (finished) break; // all runs ended before this kill
    child.kill('SIGKILL');
    await exited;
    kills++;
  }
  const last = launch(kind, target, ledger);
  collectResults(last);
  let out = '';
  let err = '';
  last.stdout?.on('data', (d) => (out += d));
  last.stderr?.on('data', (d) => (err += d));
  const code = await new Promise((resolve) => last.once('exit', resolve));
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out).toContain('ALL DONE');
  return { kills, exits };
}

async function verify(store: WorkflowStore, ledgerPath: string) {
  const runs = await store.listRuns({ limit: RUNS * 2 });
  expect(runs).toHaveLength(RUNS);
  for (const run of runs) {
    const i = Number(run.id.slice('run-'.length));
    expect({ id: run.id, status: run.status, output: run.output }).toEqual({
      id: run.id,
      status: 'done',
      output: expectedOutput(i),
    });
  }
  const ledger = readFileSync(ledgerPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LedgerLine);
  const calls = new Map<string, LedgerLine[]>();
  for (const line of ledger)
    if (line.event === 'call') calls.set(line.key, [...(calls.get(line.key) ?? []), line]);
  const fails = (key: string) => ledger.filter((l) => l.key === key && l.event === 'fail');

  // No step whose output was journaled is called again.
  let journaled = 0;
  let reExecutedJournaled = 0;
  let reRunInFlight = 0;
  for (const [key, list] of calls) {
    const entry = await store.getJournal(key);
    if (entry) {
      journaled++;
      reExecutedJournaled += list.filter((c) => c.t > entry.createdAt).length;
    }
    reRunInFlight += list.length - 1;
  }
  // A result a process reported was committed: no later process ran any step of that run again.
  let afterResult = 0;
  for (const [id, t] of reported)
    afterResult += ledger.filter((l) => l.key.startsWith(`${id}:`) && l.t > t).length;
  // Timers fire once per process and never early: the retry after a backoff, and the step after an escalation deadline.
  let early = 0;
  let twice = 0;
  for (let i = 0; i < RUNS; i++) {
    const retries = calls.get(`run-${i}:s2:2`) ?? [];
    const failures = fails(`run-${i}:s2:1`);
    for (const c of retries) if (!failures.some((f) => f.t + BACKOFF_MS <= c.t)) early++;
    const perPid = new Map<number, number>();
    for (const c of retries) perPid.set(c.pid, (perPid.get(c.pid) ?? 0) + 1);
    twice += [...perPid.values()].filter((n) => n > 1).length;
    if (i % 5 === 0) {
      const escFails = fails(`run-${i}:esc:1`);
      for (const c of calls.get(`run-${i}:final:1`) ?? []) {
        const before = escFails.filter((f) => f.t <= c.t).at(-1);
        if (!before || before.t + ESCALATION_MS > c.t) early++;
      }
    }
  }
  return {
    journaled,
    reExecutedJournaled,
    reRunInFlight,
    early,
    twice,
    afterResult,
    results: reported.size,
    calls: ledger.filter((l) => l.event === 'call').length,
  };
}

/** Items of each run's map in the `sqlite, long maps` case: most kills land in the middle of a map. */
const LONG_MAP = 30;

describe.each([
  ['sqlite', async () => join(dir, 'crash.db'), (t: string) => sqliteStore(t), 3],
  ['postgres', async () => createDatabase(pg, `crash${Date.now()}`), (t: string) => postgresStore(t), 3],
  ['sqlite, long maps', async () => join(dir, 'crash-maps.db'), (t: string) => sqliteStore(t), LONG_MAP],
] as const)('crash and recover on %s', (name, target, open, mapItems) => {
  const kind = name.startsWith('sqlite') ? 'sqlite' : 'postgres';
  beforeAll(() => {
    // Read by the workflow's input and expected output, here and in the workers this test starts.
    process.env.CRASH_MAP_ITEMS = String(mapItems);
  });
  afterAll(() => {
    delete process.env.CRASH_MAP_ITEMS;
  });
  it(`finishes ${RUNS} runs correctly across random SIGKILLs and exits right after results`, async () => {
    const where = await target();
    const ledger = join(dir, `${name.replace(/\W+/g, '-')}.ledger`);
    writeFileSync(ledger, '');
    const started = Date.now();
    reported.clear();
    const { kills, exits } = await crashAndRecover(kind, where, ledger);
    const store = open(where);
    const figures = await verify(store, ledger);
    await store.close();
    if (kind === 'sqlite') {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(where, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
    // The figures go to docs/durability.md.
    console.log(
      `crash test (${name}): ${JSON.stringify({ runs: RUNS, mapItems, kills, exits, seconds: (Date.now() - started) / 1000, ...figures })}`,
    );
    // Every incarnation does work, so the runs may all end before the last planned kill: most kills must happen.
    expect(kills).toBeGreaterThanOrEqual(Math.floor(KILLS * 0.75));
    expect(figures.reExecutedJournaled).toBe(0);
    expect(figures.early).toBe(0);
    expect(figures.twice).toBe(0);
    expect(figures.afterResult).toBe(0);
    expect(exits).toBeGreaterThan(0);
  }, 600_000);
});
