// CPU time (user + system) per step of two builds of Flowstate, interleaved in small blocks in one process: this
// checkout's dist/bundle against another checkout's (say, the commit before a change, `git archive` to a directory
// and `npm run build` there). Both run the same sequence as bench/contenders/flowstate.mjs, on one engine each.
//   node bench/profile/build-ab.mjs <other checkout> [shape=step|start10|throughput] [seconds per side]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { INPUT, noop, sequenceNames } from '../workloads.mjs';

const [other, shape = 'step', secondsArg = '3'] = process.argv.slice(2);
if (!other) throw new Error('usage: build-ab.mjs <other checkout> [shape] [seconds]');
const here = new URL('../../', import.meta.url);
const load = async (root) => import(pathToFileURL(resolve(root, 'dist/bundle/index.js')).href);
const shapes = {
  step: { n: 100, batch: 20, inFlight: 1 },
  start10: { n: 10, batch: 20, inFlight: 1 },
  throughput: { n: 10, batch: 1, inFlight: 1_000 },
};
const { n, batch, inFlight } = shapes[shape];
const side = async (key, root) => {
  const { createEngine, workflow } = await load(root);
  const engine = createEngine({ agents: { noop }, logger: pino({ level: 'silent' }) });
  let b = workflow(`sequence${n}`);
  for (const name of sequenceNames(n)) b = b.step(name, { agent: 'noop' });
  const definition = b.build();
  const start = () =>
    inFlight === 1
      ? engine.start(definition, INPUT).result
      : Promise.all(Array.from({ length: inFlight }, () => engine.start(definition, INPUT).result));
  return { key, start, cpu: 0, steps: 0 };
};
const sides = [await side('other', other), await side('this', here.pathname)];
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
for (const s of sides) for (let i = 0; i < 20; i++) await s.start();
const budget = Number(secondsArg) * 1e6;
while (sides.some((s) => s.cpu < budget)) {
  for (const s of sides) {
    const t0 = cpuNow();
    for (let i = 0; i < batch; i++) await s.start();
    s.cpu += cpuNow() - t0;
    s.steps += batch * inFlight * n;
  }
}
const per = (s) => s.cpu / s.steps;
const [o, t] = sides;
console.log(
  `${shape}: other ${per(o).toFixed(2)} µs CPU/step, this ${per(t).toFixed(2)}, this/other ${(per(t) / per(o)).toFixed(3)} (load ${(await import('node:os')).loadavg()[0].toFixed(2)})`,
);
process.exit(0);
