// Chaos (issue 12): two and three engine replicas, separate processes on the built package, share ONE store (a SQLite
// file, a PostgreSQL database). Each has its own lease owner id, a 600 ms lease and adopt: true. The parent SIGKILLs
// them at random or sends SIGTERM (engine.close(): hand-over), and restarts them, with a new owner id or the same.
// The replicas of the first set start some ids at the same instant on purpose; restarted replicas start their whole
// share again (ids already claimed must be refused with RUN_ID_TAKEN before any agent call). A last set drains
// everything; then every run must be done with the right output, and no step may have run under two live owners.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { postgresStore, sqliteStore, type WorkflowStore } from '../../src/index.js';
import {
  alive,
  callsByKey,
  chaosFixture,
  journalFigures,
  LONG,
  outputOf,
  readLedger,
  seeded,
  sleep,
  spawnWorker,
  strayStderr,
  type Worker,
  wrongRuns,
} from '../support/chaos.js';
import { createDatabase } from '../support/postgres.js';

const TTL_MS = 600;
/** Runs in flight per replica (adopted runs count too). */
const CONCURRENCY = 4;
const SIZES = {
  2: LONG ? { runs: 300, actions: 30, contested: 20 } : { runs: 60, actions: 6, contested: 6 },
  3: LONG ? { runs: 500, actions: 50, contested: 20 } : { runs: 90, actions: 9, contested: 6 },
} as const;

const fixture = chaosFixture('replicas');
const { dir } = fixture;
const said = (w: Worker, tag: string) => w.events.some((e) => e.tag === tag);
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
    ),
  ]);

async function chaos(kind: 'sqlite' | 'postgres', replicas: 2 | 3) {
  const { runs, actions, contested: contestedCount } = SIZES[replicas];
  const where =
    kind === 'sqlite'
      ? join(dir, `replicas-${replicas}.db`)
      : await createDatabase(fixture.pg(), `replicas${replicas}_${Date.now()}`);
  const open = (): WorkflowStore => (kind === 'sqlite' ? sqliteStore(where) : postgresStore(where));
  // The tables exist before the first replicas boot (restarts later open the store while others write).
  const init = open();
  await init.listRuns({ limit: 1 });
  await init.close();
  const ledger = join(dir, `${kind}-${replicas}.ledger`);
  const drainFile = join(dir, `${kind}-${replicas}.drain`);
  writeFileSync(ledger, '');
  const started = Date.now();
  const random = seeded(1_234 + replicas * 7 + (kind === 'postgres' ? 1 : 0));

  const workers: Worker[] = [];
  const slots: (Worker | undefined)[] = new Array(replicas).fill(undefined);
  const owners = Array.from({ length: replicas }, (_, s) => `replica-${s}-g0`);
  let generation = 0;
  const launch = (slot: number, extra: { contested?: number[]; startAt?: number } = {}) => {
    const w = spawnWorker({
      kind,
      target: where,
      ledger,
      owner: owners[slot] as string,
      ttlMs: TTL_MS,
      total: runs,
      slot,
      slots: replicas,
      concurrency: CONCURRENCY,
      drainFile,
      ...extra,
    });
    slots[slot] = w;
    workers.push(w);
    return w;
  };

  // The first set: every replica starts the contested ids at the same instant, then its share.
  const contested = Array.from({ length: contestedCount }, (_, i) => i);
  const startAt = Date.now() + 2_500;
  for (let s = 0; s < replicas; s++) launch(s, { contested, startAt });
  const first = [...workers];
  await Promise.all(first.map((w) => w.next('CONTESTED', 60_000)));

  // Chaos: kill (70 %) or terminate (30 %) a ready replica every 150-600 ms; restart it 0-1.2 s later, under a new
  // owner id half the time. A replica is only restarted under its old owner id once the old process has exited.
  let kills = 0;
  let terms = 0;
  let sameOwner = 0;
  let newOwner = 0;
  const restarts: Promise<unknown>[] = [];
  for (let a = 0; a < actions; a++) {
    await sleep(150 + random() * 450);
    const ready = slots
      .map((w, s) => ({ w, s }))
      .filter((x): x is { w: Worker; s: number } => !!x.w && alive(x.w) && said(x.w, 'READY'));
    const pick = ready[Math.floor(random() * ready.length)];
    const graceful = random() < 0.3;
    const keepOwner = random() < 0.5;
    const delay = random() * 1_200;
    if (!pick) continue;
    const { w, s } = pick;
    if (graceful) {
      w.termedAt = Date.now();
      w.child.kill('SIGTERM');
      terms++;
    } else {
      w.killedAt = Date.now();
      w.child.kill('SIGKILL');
      kills++;
    }
    await within(
      w.exited,
      20_000,
      `replica ${w.options.owner} exit after ${graceful ? 'SIGTERM' : 'SIGKILL'}`,
    );
    slots[s] = undefined;
    if (keepOwner) sameOwner++;
    else {
      owners[s] = `replica-${s}-g${++generation}`;
      newOwner++;
    }
    restarts.push(sleep(delay).then(() => launch(s)));
  }
  await Promise.all(restarts);

  // The last set drains everything: the live replicas, and any slot left empty.
  writeFileSync(drainFile, '');
  for (let s = 0; s < replicas; s++) if (!slots[s] || !alive(slots[s] as Worker)) launch(s);
  const last = slots.filter((w): w is Worker => !!w);
  await within(
    Promise.all(last.map((w) => w.exited)),
    LONG ? 600_000 : 120_000,
    'the last replicas draining every run',
  );
  const seconds = (Date.now() - started) / 1000;

  const store = open();
  try {
    return {
      ...(await verify(store, workers, ledger, runs, first, contested)),
      seconds,
      kills,
      terms,
      sameOwner,
      newOwner,
    };
  } finally {
    await store.close();
  }
}

async function verify(
  store: WorkflowStore,
  workers: Worker[],
  ledgerPath: string,
  runs: number,
  first: Worker[],
  contested: number[],
) {
  const byPid = new Map(workers.map((w) => [w.pid, w]));
  const events = workers.flatMap((w) => w.events.map((e) => ({ ...e, worker: w })));
  const tagged = (tag: string) => events.filter((e) => e.tag === tag);

  // Processes: every one the parent did not SIGKILL exits 0 (a SIGTERM'd one after close()).
  const crashes = workers
    .filter((w) => w.killedAt === undefined)
    .filter((w) => w.child.exitCode !== 0)
    .map((w) => ({
      owner: w.options.owner,
      code: w.child.exitCode,
      signal: w.child.signalCode,
      stderr: w.stderr.slice(-2_000),
    }));
  const unclosed = workers.filter((w) => w.termedAt !== undefined && !said(w, 'CLOSED')).length;
  const stray = workers.flatMap((w) => strayStderr(w.stderr));
  const stderr = workers.map((w) => w.stderr).join('');
  const deadlocks = stderr.split('\n').filter((l) => /40P01|deadlock/i.test(l)).length;
  const storeWriteErrors = stderr.split('\n').filter((l) => l.includes('store write failed')).length;
  const lostLeaseLogs = stderr
    .split('\n')
    .filter((l) => l.includes('run owned by another engine now')).length;

  // Runs: all stored once, done, right output; none failed in any process.
  const stored = await wrongRuns(store, runs);
  const failed = tagged('FAILED').map((e) => e.args.join(' '));

  // Results: who reported what. A process reports a result only once its final state committed, under its lease.
  const results = new Map<string, { pid: number; owner: string; output: string }[]>();
  for (const e of tagged('RESULT')) {
    const [id = '', , output = ''] = e.args;
    results.set(id, [...(results.get(id) ?? []), { pid: e.pid, owner: e.worker.options.owner, output }]);
  }
  let conflictingResults = 0;
  let doubleReported = 0;
  let wrongResults = 0;
  let uncommittedResults = 0;
  const storedOwner = new Map((await store.listRuns({ limit: runs * 2 })).map((r) => [r.id, r.owner]));
  for (const [id, list] of results) {
    if (new Set(list.map((r) => r.output)).size > 1) conflictingResults++;
    if (new Set(list.map((r) => r.pid)).size > 1) doubleReported++;
    const expected = outputOf(Number(id.slice('run-'.length)));
    wrongResults += list.filter((r) => !isDeepStrictEqual(JSON.parse(r.output), expected)).length;
    uncommittedResults += list.filter((r) => r.owner !== storedOwner.get(id)).length;
  }

  const ledger = readLedger(ledgerPath);
  const calls = callsByKey(ledger);

  // RUN_ID_TAKEN: a refused start calls no agent of that run in its process between its start and the refusal.
  const taken = tagged('TAKEN');
  let callsBeforeTaken = 0;
  for (const e of taken) {
    const [id = '', began = '0', at = '0'] = e.args;
    callsBeforeTaken += ledger.filter(
      (l) => l.pid === e.pid && l.key.startsWith(`${id}:`) && l.t >= Number(began) && l.t <= Number(at),
    ).length;
  }
  // The ids the first set started at once: exactly one replica won each, the others were refused.
  const firstPids = new Set(first.map((w) => w.pid));
  const contestedRefusals = contested.map(
    (n) =>
      taken.filter((e) => firstPids.has(e.pid) && e.args[0] === `run-${n}` && e.args[3] === 'contested')
        .length,
  );

  // Calls per idempotency key: a key called again is fine only once the process that called it before was killed
  // (or handed its runs over) by then: an attempt in flight at a kill runs again, with its key. A key called twice
  // while the earlier caller was alive and owned the run means two live owners. A SIGTERM'd process stops its copy
  // of each run it hands over (HANDED) before it releases the lease: no other process can take the run before then.
  const handedAt = new Map(tagged('HANDED').map((e) => [`${e.pid}:${e.args[0]}`, Number(e.args[1])]));
  const endOf = (pid: number, key: string, t: number) => {
    const w = byPid.get(pid);
    if (!w) return Number.POSITIVE_INFINITY;
    if (w.killedAt !== undefined) return w.killedAt;
    const handed = handedAt.get(`${pid}:${key.split(':')[0]}`);
    if (handed !== undefined) return handed;
    const term = w.events.find((e) => e.tag === 'TERM');
    const closed = w.events.find((e) => e.tag === 'CLOSED');
    if (term && t < Number(term.args[0])) return Number(term.args[0]);
    if (closed) return Number(closed.args[0]);
    return Number.POSITIVE_INFINITY;
  };
  let reRunsAtKills = 0;
  const liveOwnerKeys = new Set<string>();
  const liveOwnerSamples: unknown[] = [];
  for (const [key, list] of calls) {
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1] as (typeof list)[number];
      const b = list[i] as (typeof list)[number];
      if (endOf(a.pid, key, a.t) <= b.t) reRunsAtKills++;
      else {
        liveOwnerKeys.add(key);
        if (liveOwnerSamples.length < 5) liveOwnerSamples.push({ key, a, b });
      }
    }
  }
  const { journaled, reExecutedJournaled } = await journalFigures(store, calls);

  return {
    runs,
    processes: workers.length,
    stored: stored.stored,
    lost: stored.lost.length,
    wrong: stored.wrong.length,
    failed: failed.length,
    crashes: crashes.length,
    unclosed,
    strayStderr: stray.length,
    calls: ledger.length,
    journaled,
    reExecutedJournaled,
    reRunsAtKills,
    keysCalledByTwoLiveOwners: liveOwnerKeys.size,
    taken: taken.length,
    callsBeforeTaken,
    contestedRefusals: contestedRefusals.reduce((x, y) => x + y, 0),
    results: results.size,
    doubleReported,
    conflictingResults,
    wrongResults,
    uncommittedResults,
    lostLeases: tagged('LOST').length,
    handedOver: tagged('HANDED').length,
    lostLeaseLogs,
    storeWriteErrors,
    deadlocks,
    details: {
      crashes,
      failed: failed.slice(0, 5),
      stray: stray.slice(0, 5),
      wrong: stored.wrong.slice(0, 3),
      lostIds: stored.lost.slice(0, 10),
      liveOwnerSamples,
      contestedRefusals,
    },
  };
}

describe.each(['sqlite', 'postgres'] as const)('replicas on one %s store', (kind) => {
  it.each([2, 3] as const)(
    '%i replicas killed, terminated and restarted at random finish every run once, under one live owner',
    async (replicas) => {
      const figures = await chaos(kind, replicas);
      const { details, ...line } = figures;
      console.log(`chaos replicas-${kind}-${replicas}: ${JSON.stringify(line)}`);
      expect(details.crashes).toEqual([]);
      expect(details.stray).toEqual([]);
      expect(figures.unclosed).toBe(0);
      expect(details.wrong).toEqual([]);
      expect(details.lostIds).toEqual([]);
      expect(figures.stored).toBe(figures.runs);
      expect(details.failed).toEqual([]);
      expect(figures.kills + figures.terms).toBeGreaterThan(0);
      expect(figures.reExecutedJournaled).toBe(0);
      expect(details.liveOwnerSamples).toEqual([]);
      expect(figures.keysCalledByTwoLiveOwners).toBe(0);
      expect(figures.callsBeforeTaken).toBe(0);
      expect(details.contestedRefusals).toEqual(details.contestedRefusals.map(() => replicas - 1));
      expect(figures.taken).toBeGreaterThan(figures.contestedRefusals);
      expect(figures.conflictingResults).toBe(0);
      expect(figures.wrongResults).toBe(0);
      expect(figures.uncommittedResults).toBe(0);
      expect(figures.deadlocks).toBe(0);
      if (kind === 'sqlite') {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(join(dir, `replicas-${replicas}.db`), { readonly: true });
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        db.close();
      }
    },
    LONG ? 1_800_000 : 180_000,
  );
});
