import { createEngine, memoryHistory, workflow } from 'flowstate';
import { pino } from 'pino';
import { createActor } from 'xstate';
import { watchActor } from '../dist/src/progress/watch.js';

const logger = pino({ level: 'silent' });
const engine = createEngine({ agents: { noop: async () => null }, logger });
const wf = workflow('parked')
  .step('a', { agent: 'noop' })
  .waitFor('w', { event: 'go', timeoutMs: 3_600_000 })
  .step('b', { agent: 'noop' })
  .build();
const machine = engine.machineFor(wf);
const history = memoryHistory();
const gc = () => {
  globalThis.gc();
  globalThis.gc();
};
async function measure(watched, n = 5000) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const actors = [];
  for (let i = 0; i < n; i++) {
    const actor = createActor(machine, { input: { input: {} } });
    if (watched) watchActor(actor, { history, logger, workflowId: 'parked', runId: String(i) });
    actor.start();
    actors.push(actor);
  }
  await new Promise((r) => setTimeout(r, 50));
  gc();
  const after = process.memoryUsage().heapUsed;
  for (const a of actors) a.stop();
  return (after - before) / n;
}
await measure(true, 500);
for (let i = 0; i < 2; i++) {
  const bare = await measure(false);
  const watched = await measure(true);
  console.log(
    'bare',
    (bare / 1024).toFixed(2),
    'KB; watched',
    (watched / 1024).toFixed(2),
    'KB; delta',
    ((watched - bare) / 1024).toFixed(2),
    'KB',
  );
}
