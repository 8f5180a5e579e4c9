// One engine process of the chaos tests (test/chaos/replicas.test.ts, store-faults.test.ts), on the built package.
// It is one replica among several on one store: it recovers what its owner id left, adopts runs whose owner died
// (adopt: true), starts its share of the ids `run-<n>` (n % slots === slot), and optionally, at `startAt`, ids that
// every replica of the first set starts at once. SIGTERM closes the engine (hand-over); SIGKILL comes from the parent.
// When the drain file exists it exits with ALL DONE once every run of the store ended.
//
// stdout, one line per event: READY t | START id t how | RESULT id t output | TAKEN id began t how |
// LOST id t | HANDED id t | FAILED id code message | ACTIVE id code | CONTESTED n | TERM t | CLOSED t | LAG ms |
// ALL DONE. stderr: the engine's log at warn level (store errors, lost leases), one JSON line each.
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { createEngine, postgresStore, sqliteStore } from '../../dist/bundle/index.js';
import { crashWorkflow, inputOf, ledgerAgents } from './crash-workflow.mjs';

/**
 * @type {{ kind: 'sqlite' | 'postgres', target: string, ledger: string, owner: string, ttlMs: number, total: number,
 *   slot: number, slots: number, concurrency: number, contested?: number[], startAt?: number, drainFile: string,
 *   startEveryMs?: number, lag?: boolean }}
 */
const o = JSON.parse(process.argv[2]);
const pid = process.pid;
const say = (...parts) => process.stdout.write(`${parts.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let closing = false;
process.once('SIGTERM', () => {
  closing = true;
  say('TERM', Date.now());
  engine.close().then(
    () => {
      say('CLOSED', Date.now());
      process.exit(0);
    },
    (error) => {
      say('CLOSEFAIL', JSON.stringify(String(error)));
      process.exit(3);
    },
  );
});

const agents = ledgerAgents(o.ledger);

const store = o.kind === 'postgres' ? postgresStore(o.target) : sqliteStore(o.target);
const engine = createEngine({
  agents,
  store,
  workflows: [crashWorkflow],
  logger: pino({ level: 'warn', base: { owner: o.owner, pid } }, pino.destination({ dest: 2, sync: true })),
  lease: { owner: o.owner, ttlMs: o.ttlMs, adopt: true },
});

/** Reports how each run of this process ends; `began` dates the start (a refused id must call no agent since). */
const watched = new WeakSet();
const watch = (run, how) => {
  if (watched.has(run)) return run;
  watched.add(run);
  const began = Date.now();
  run.result.then(
    (output) => say('RESULT', run.id, Date.now(), JSON.stringify(output)),
    (error) => {
      const code = error?.code ?? 'UNKNOWN';
      if (code === 'RUN_ID_TAKEN') say('TAKEN', run.id, began, Date.now(), how);
      else if (code === 'LEASE_LOST')
        say(/handed over/.test(String(error.message)) ? 'HANDED' : 'LOST', run.id, Date.now());
      else say('FAILED', run.id, code, JSON.stringify(String(error?.message)));
    },
  );
  return run;
};
// Runs taken by recover() and by the adoption loop come through engine.resume: watch them too.
const resume = engine.resume;
engine.resume = async (id) => watch(await resume(id), 'resume');

const start = (n, how) => {
  const id = `run-${n}`;
  try {
    watch(engine.start(crashWorkflow, inputOf(n), { id }), how);
    say('START', id, Date.now(), how);
  } catch (error) {
    say('ACTIVE', id, error?.code ?? 'UNKNOWN');
  }
};

// The store may be down while this process starts (store-faults): recover when it answers.
for (;;) {
  try {
    await engine.recover();
    break;
  } catch {
    await sleep(100);
  }
}
say('READY', Date.now());

if (o.lag) {
  // The event loop's longest stall: a 10 ms interval that fires late by that much.
  let max = 0;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - 10);
    last = now;
  }, 10).unref();
  process.on('exit', () => say('LAG', Math.round(max)));
}

if (o.contested?.length) {
  await sleep(Math.max(0, (o.startAt ?? 0) - Date.now()));
  for (const n of o.contested) start(n, 'contested');
  // Every claim is decided once what is queued has committed.
  await engine.flush();
  await sleep(0);
  say('CONTESTED', o.contested.length);
}

const contested = new Set(o.contested ?? []);
const share = [];
for (let n = 0; n < o.total; n++) if (n % o.slots === o.slot && !contested.has(n)) share.push(n);
let next = 0;
let lastStart = 0;
let lastCheck = 0;
for (;;) {
  await sleep(10);
  if (closing) await new Promise(() => {});
  while (
    next < share.length &&
    engine.active.size < o.concurrency &&
    Date.now() - lastStart >= (o.startEveryMs ?? 0)
  ) {
    start(share[next++], 'share');
    lastStart = Date.now();
  }
  if (next < share.length || Date.now() - lastCheck < 200 || !existsSync(o.drainFile)) continue;
  lastCheck = Date.now();
  try {
    const unfinished = await engine.list({ status: ['running', 'waiting'], limit: 1 });
    if (unfinished.length > 0 || engine.active.size > 0) continue;
    const all = await engine.list({ limit: o.total * 2 });
    if (all.length >= o.total) break;
  } catch {
    // The store is down: ask again at the next round.
  }
}
if (closing) await new Promise(() => {});
closing = true;
await engine.close();
say('ALL DONE');
process.exit(0);
