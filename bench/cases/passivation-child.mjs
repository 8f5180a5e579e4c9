// Run by cases/passivation.mjs in a fresh `node --expose-gc` process: N runs parked on a SQLite store with
// passivation, then the heap they hold, event wake-ups, due timers and the recovery of a new engine on the store.
// Usage: node --expose-gc bench/cases/passivation-child.mjs <parked> <events> <timers> <backoffMs> <compare 0|1>
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, sqliteStore, workflow } from 'flowstate';
import { pino } from 'pino';
import { collect, summarize } from '../harness.mjs';

const [parkedArg = '100000', eventsArg = '1000', timersArg = '1000', backoffArg = '6000', compareArg = '1'] =
  process.argv.slice(2);
const PARKED = Number(parkedArg);
const EVENTS = Number(eventsArg);
const TIMERS = Number(timersArg);
/** Runs started before waiting for them to be passivated: bounds the heap while parking. */
const WAVE = 5_000;
/** The retry's wait: longer than twice `wakeAheadMs` (else the run stays in memory) plus the second of deadlines. */
const BACKOFF_MS = Number(backoffArg);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const parkedFlow = workflow('bench-parked')
  .waitFor('go', { event: 'go', timeoutMs: 24 * 3_600_000 })
  .step('done', { agent: 'noop' })
  .build();
const timedFlow = workflow('bench-timed')
  .step('flaky', { retry: { attempts: 2, backoff: 'fixed', initialMs: BACKOFF_MS, jitter: 0 } })
  .build();

/** When each timed run's retry was called (its deadline is read from the store before). */
const retried = new Map();
const agents = {
  noop: () => 'ok',
  flaky: (_input, ctx) => {
    if (ctx.attempt === 1) throw new Error('first attempt fails');
    retried.set(ctx.idempotencyKey.split(':')[0], Date.now());
    return 'ok';
  },
};
const dir = mkdtempSync(join(tmpdir(), 'flowstate-bench-passivate-'));
const file = join(dir, 'parked.db');
const options = (owner) => ({
  agents,
  store: sqliteStore(file),
  workflows: [parkedFlow, timedFlow],
  logger: pino({ level: 'silent' }),
  lease: { owner, adopt: false },
  passivate: { afterMs: 100, wakeAheadMs: 1_000, pollMs: 500 },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const settleParked = async (engine, left = 0) => {
  while (engine.active.size > left) await sleep(20);
};

/** Starts TIMERS runs whose retry waits BACKOFF_MS, then measures how late after its deadline each retry ran. */
async function dueTimers(engine, store, prefix, parked) {
  // Their deadlines come due over about a second: ten waves, 100 ms apart.
  for (let wave = 0; wave < 10; wave++) {
    for (let k = (wave * TIMERS) / 10; k < ((wave + 1) * TIMERS) / 10; k++)
      engine.start(timedFlow, {}, { id: `${prefix}${k}` });
    await sleep(100);
  }
  await sleep(500);
  if (parked) await settleParked(engine);
  const deadlines = new Map();
  for (let k = 0; k < TIMERS; k++)
    deadlines.set(`${prefix}${k}`, (await store.listTimers(`${prefix}${k}`))[0]?.deadline);
  const first = Math.min(...deadlines.values());
  const last = Math.max(...deadlines.values());
  while ([...deadlines.keys()].some((id) => !retried.has(id)) && Date.now() < last + 10_000) await sleep(50);
  const lateness = [...deadlines].map(
    ([id, deadline]) => (retried.get(id) ?? Number.POSITIVE_INFINITY) - deadline,
  );
  const done = async () =>
    (await engine.list({ status: 'done', workflow: 'bench-timed', limit: 2 * TIMERS })).length;
  for (let w = 0; w < 100 && (await done()) < TIMERS; w++) await sleep(100);
  if ((await done()) !== TIMERS) throw new Error('a timed run did not end');
  return {
    timers: summarize(lateness),
    timersSpreadMs: last - first,
    timersFired: lateness.filter(Number.isFinite).length,
    timersMax: Math.max(...lateness),
    timersEarly: lateness.filter((l) => l < 0).length,
    timersOver100: lateness.filter((l) => l > 100).length,
  };
}

const out = {};
try {
  collect();
  const before = process.memoryUsage().heapUsed;
  const engine = createEngine(options('bench-1'));
  const t0 = performance.now();
  for (let i = 0; i < PARKED; i += WAVE) {
    for (let j = i; j < Math.min(PARKED, i + WAVE); j++) engine.start(parkedFlow, {}, { id: `p${j}` });
    await settleParked(engine);
  }
  out.parkSeconds = (performance.now() - t0) / 1000;
  await sleep(200);
  collect();
  out.heapMB = (process.memoryUsage().heapUsed - before) / 1024 ** 2;
  out.rssMB = process.memoryUsage().rss / 1024 ** 2;

  // Wake-up on an event: engine.send to a passivated run resolves once the woken run applied it.
  const latencies = [];
  for (let k = 0; k < EVENTS; k++) {
    const id = `p${Math.floor((k * PARKED) / EVENTS)}`;
    const started = performance.now();
    const took = await engine.send(id, { type: 'go' });
    latencies.push(performance.now() - started);
    if (took !== true) throw new Error(`the event to ${id} was not taken`);
  }
  out.wake = summarize(latencies);
  // Each woken run goes on to its last step and ends: committed a moment after its event.
  const ended = async () =>
    (await engine.list({ status: 'done', workflow: 'bench-parked', limit: PARKED })).length;
  for (let w = 0; w < 100 && (await ended()) < EVENTS; w++) await sleep(100);
  out.woken = await ended();
  if (out.woken !== EVENTS) throw new Error(`${out.woken} of ${EVENTS} woken runs ended`);

  // Due timers: TIMERS runs fail once, back off BACKOFF_MS, are passivated, then woken by the one scheduler.
  const store = sqliteStore(file);
  const passivated = await dueTimers(engine, store, 't', true);
  Object.assign(out, passivated);
  // The same deadlines on an engine that keeps its runs in memory: what firing them costs without passivation.
  if (compareArg === '1') {
    const plainFile = join(dir, 'plain.db');
    const { passivate: _none, ...plain } = { ...options('bench-plain'), store: sqliteStore(plainFile) };
    const inMemory = createEngine(plain);
    out.timersInMemory = (await dueTimers(inMemory, sqliteStore(plainFile), 'm', false)).timers;
    await inMemory.close();
  }
  await engine.close();

  // Recovery: a new engine on the store with every parked run still unfinished.
  out.unfinished = await store.countRuns({ status: ['running', 'waiting'] });
  await store.close();
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const r0 = performance.now();
  const next = createEngine(options('bench-2'));
  const recovered = await next.recover();
  out.readyMs = performance.now() - r0;
  out.recovered = recovered.length;
  collect();
  out.readyHeapMB = (process.memoryUsage().heapUsed - heapBefore) / 1024 ** 2;
  await next.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out));
