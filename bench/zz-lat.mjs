import { createEngine, trackProgress, workflow } from 'flowstate';
import { pino } from 'pino';
import { createActor } from 'xstate';

const noop = async () => null;
let b = workflow('progressBench');
for (let i = 0; i < 40; i++) b = b.waitFor(`w${i}`, { event: 'go', timeoutMs: 3_600_000 });
const wf = b
  .parallel('p', {
    a: (r) => r.step('a1', { agent: 'noop' }).step('a2', { agent: 'noop' }),
    b: (r) => r.step('b1', { agent: 'noop' }),
  })
  .map('m', { items: 'input.items', step: { agent: 'noop' }, concurrency: 4 })
  .branch('br', [
    { when: 'input.flag', then: (x) => x.step('yes', { agent: 'noop' }) },
    { otherwise: (x) => x },
  ])
  .build();
const engine = createEngine({ agents: { noop }, logger: pino({ level: 'silent' }) });
const machine = engine.machineFor(wf);
const samples = [];
for (let k = 0; k < 1500; k++) {
  const actor = createActor(machine, { input: { input: { items: [1, 2, 3, 4, 5, 6, 7, 8], flag: true } } });
  let t0 = 0;
  actor.subscribe({ next: () => (t0 = performance.now()), error: () => {} });
  trackProgress(actor, { throttleMs: 0 }).subscribe(() => samples.push(performance.now() - t0));
  actor.start();
  for (let i = 0; i < 40; i++) actor.send({ type: 'go' });
  actor.stop();
}
samples.sort((a, b) => a - b);
console.log(
  'p50',
  (samples[samples.length >> 1] * 1000).toFixed(1),
  'µs',
  'p99',
  (samples[Math.floor(samples.length * 0.99)] * 1000).toFixed(1),
);
