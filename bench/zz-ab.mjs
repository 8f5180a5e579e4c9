import { createEngine, memoryHistory, workflow } from 'flowstate';
import { pino } from 'pino';
import { createActor } from 'xstate';
import { watchActor } from '../dist/src/progress/watch.js';

const noop = async () => null;
const logger = pino({ level: 'silent' });
const engine = createEngine({ agents: { noop }, logger });
let b = workflow('watchCost');
for (let i = 0; i < 100; i++) b = b.step(`s${i}`, { agent: 'noop' });
const wf = b.build();
const machine = engine.machineFor(wf);
const history = memoryHistory();
const once = (watched) =>
  new Promise((resolve) => {
    const actor = createActor(machine, { input: { input: {} } });
    actor.subscribe({ complete: resolve, error: resolve });
    if (watched) watchActor(actor, { history, logger, workflowId: 'watchCost', runId: 'x' });
    actor.start();
  });
const t = { true: 0, false: 0 };
for (let round = 0; round < 40; round++) {
  for (const w of [false, true]) {
    const s = performance.now();
    for (let i = 0; i < 20; i++) await once(w);
    if (round >= 5) t[w] += performance.now() - s;
  }
}
const per = (x) => ((x / 35 / 20 / 100) * 1000).toFixed(2);
console.log('bare', per(t.false), 'µs/step; watched', per(t.true), 'µs/step; delta', per(t.true - t.false));
