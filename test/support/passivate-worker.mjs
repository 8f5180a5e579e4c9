// One process of the passivation crash test, on the built package. `park`: starts runs that wait (an event, a long
// backoff) and a few that stay busy, prints PARKED once every waiting run is passivated, then idles until the parent
// kills it with SIGKILL. `finish`: a second engine on the same store wakes them (events, due timers), adopts the busy
// ones once the dead engine's leases expire, and prints DONE when every run has ended. `park-unreleased`: as `park`,
// but no release of a passivated run's lease ever commits (the process dies between dropping the runs and the release).
import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import { z } from 'zod';
import { createEngine, postgresStore, sqliteStore, workflow } from '../../dist/bundle/index.js';

const [mode, kind, target, ledger, countArg] = process.argv.slice(2);
const parking = mode.startsWith('park');
const count = Number(countArg);
export const BACKOFF_MS = 4_000;
/** Runs that only wait but are not passivated yet when the first process dies. */
const QUIET = 5;

const approval = workflow('pc-approval')
  .step('plan')
  .waitFor('approve', { event: 'approved', schema: z.object({ by: z.string() }), timeoutMs: 3_600_000 })
  .step('ship')
  .build();
const backoff = workflow('pc-backoff')
  .step('plan')
  .step('call', { retry: { attempts: 2, backoff: 'fixed', initialMs: BACKOFF_MS, jitter: 0 } })
  .build();
const busy = workflow('pc-busy').step('slow').build();

const log = (ctx, what) =>
  appendFileSync(ledger, `${ctx.idempotencyKey} ${what} ${process.pid} ${Date.now()}\n`);
const agents = {
  plan: (_input, ctx) => {
    log(ctx, 'call');
    return 'PLAN';
  },
  ship: (_input, ctx) => {
    log(ctx, 'call');
    return 'SHIP';
  },
  call: (_input, ctx) => {
    log(ctx, 'call');
    if (ctx.attempt === 1) throw new Error('first attempt fails');
    return 'OK';
  },
  // Never answers in the first process (in flight when it dies); answers in the second.
  slow: (_input, ctx) => {
    log(ctx, 'call');
    return parking ? new Promise(() => {}) : 'SLOW';
  },
};

const base = kind === 'postgres' ? postgresStore(target) : sqliteStore(target);
const store = mode === 'park-unreleased' ? { ...base, release: () => new Promise(() => {}) } : base;
const engine = createEngine({
  agents,
  store,
  workflows: [approval, backoff, busy],
  logger: pino({ level: 'silent' }),
  lease: { owner: parking ? 'parker' : 'finisher', ttlMs: 1_000 },
  inbox: { pollMs: 50 },
  passivate: { afterMs: 100, wakeAheadMs: 300, pollMs: 200 },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (parking) {
  for (let i = 0; i < count; i++) {
    engine.start(approval, {}, { id: `ap-${i}` });
    engine.start(backoff, {}, { id: `bo-${i}` });
  }
  engine.start(busy, {}, { id: 'busy-0' });
  engine.start(busy, {}, { id: 'busy-1' });
  while (engine.active.size > 2) await sleep(10);
  // A few more that only wait, checkpointed but not passivated yet when the process dies: their lease still runs.
  for (let i = 0; i < QUIET; i++) engine.start(approval, {}, { id: `quiet-${i}` });
  // Until their idle checkpoints are committed (a fixed 40 ms was too short on a loaded machine); they are
  // passivated only `afterMs` after their checkpoint, so the kill still finds their leases running.
  const quietIdle = async () =>
    (await engine.list({ idle: true, limit: 1_000 })).filter((r) => r.id.startsWith('quiet-')).length;
  while ((await quietIdle()) < QUIET) await sleep(5);
  process.stdout.write('PARKED\n');
  for (;;) await sleep(1_000);
} else {
  await engine.recover();
  const ids = [
    ...Array.from({ length: count }, (_, i) => `ap-${i}`),
    ...Array.from({ length: QUIET }, (_, i) => `quiet-${i}`),
  ];
  // The quiet runs' owner is dead but its lease runs: the signals wait in the inbox until this engine wakes them.
  await Promise.all(ids.map((id) => engine.send(id, { type: 'approved', by: 'finisher' })));
  const total = 2 * count + 2 + QUIET;
  for (;;) {
    const done = await engine.list({ status: 'done', limit: total });
    if (done.length === total) break;
    await sleep(50);
  }
  process.stdout.write(`DONE ${engine.active.size}\n`);
  await engine.close();
  process.exit(0);
}
