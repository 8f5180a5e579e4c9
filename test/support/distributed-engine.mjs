// One engine replica of the distributed chaos test (test/chaos/distributed.test.ts), on the built package: a
// PostgreSQL store, the BullMQ transport (every step on the 'agents' queue, run by `flowstate worker` processes),
// a short lease with adoption. It recovers what its owner id left, starts its share of the ids `d-<n>`
// (n % slots === slot), and stays up adopting runs until killed. stdout: READY | RESULT id | FAILED id code.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';

// The built package (`npm run build`); FLOWSTATE_DIST picks another build, as for the worker processes.
const dist = pathToFileURL(
  resolve(process.env.FLOWSTATE_DIST ?? new URL('../../dist', import.meta.url).pathname),
);
const { bullmqTransport } = await import(`${dist}/bundle/bullmq.js`);
const { createEngine, postgresStore, workflow } = await import(`${dist}/bundle/index.js`);

/** @type {{ pg: string, redis: string, owner: string, total: number, slot: number, slots: number, ms: number }} */
const o = JSON.parse(process.argv[2]);
const say = (...parts) => process.stdout.write(`${parts.join(' ')}\n`);
const logger = pino({ level: 'warn', base: { owner: o.owner } }, pino.destination({ dest: 2, sync: true }));

/**
 * Ten steps on workers, each adding one to the last: s0..s7 in a row, then x and y in parallel. Run d-n ends with
 * s<i> = n + i + 1 and x = y = n + 9 (distributed.test.ts checks exactly that).
 */
let steps = workflow('distributed');
for (let i = 0; i < 8; i++) {
  steps = steps.step(`s${i}`, {
    agent: 'inc',
    input: (c) => ({ n: i === 0 ? c.input.n : c.results[`s${i - 1}`].n, ms: c.input.ms }),
  });
}
const last = (c) => ({ n: c.results.s7.n, ms: c.input.ms });
const distributed = steps
  .parallel('p', {
    x: (s) => s.step('x', { agent: 'inc', input: last }),
    y: (s) => s.step('y', { agent: 'inc', input: last }),
  })
  .build();

const transport = bullmqTransport({ connection: o.redis, checkEveryMs: 500, logger });
const engine = createEngine({
  store: postgresStore(o.pg),
  transport,
  defaultQueue: 'agents',
  workflows: [distributed],
  logger,
  lease: { owner: o.owner, ttlMs: 1_500, adopt: true },
});
const watch = (run) =>
  run.result.then(
    () => say('RESULT', run.id),
    (error) => say('FAILED', run.id, error?.code ?? 'UNKNOWN'),
  );
const resume = engine.resume;
engine.resume = async (id) => {
  const run = await resume(id);
  watch(run);
  return run;
};
await engine.recover();
say('READY');
for (let n = o.slot; n < o.total; n += o.slots) {
  try {
    watch(engine.start(distributed, { n, ms: o.ms }, { id: `d-${n}` }));
  } catch {
    // already active here (recovered)
  }
}
setInterval(() => {}, 60_000);
