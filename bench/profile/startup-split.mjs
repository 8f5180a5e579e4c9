// Import → first workflow done, piece by piece in one fresh process: each dependency on Flowstate's import path
// alone (in the order the bundle loads them), then Flowstate's own bundle, createEngine, build() and the first run.
//   node bench/profile/startup-split.mjs            (PROF=1 also writes /tmp/flowstate-startup.cpuprofile of
//                                                     everything after the dependencies, for top.mjs)
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const pieces = [];
const time = async (label, fn) => {
  const t0 = performance.now();
  const value = await fn();
  pieces.push(`${label} ${(performance.now() - t0).toFixed(1)}`);
  return value;
};
// What the root entry's path loads before the bundle; zod, rxjs and pino are not on it (zod with `flowstate/json`
// only, rxjs's Observable on the first stream, pino with a logger: this runner passes `logger: false`).
for (const dep of ['xstate', 'node:crypto']) await time(dep, () => import(dep));
const session = process.env.PROF ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
}
const { createEngine, workflow } = await time('flowstate bundle', () => import('flowstate'));
const engine = await time('createEngine', () =>
  createEngine({ agents: { noop: async () => null }, logger: false }),
);
const definition = await time('build', () => workflow('first').step('s0', { agent: 'noop' }).build());
await time('first run', () => engine.start(definition, {}).result);
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync('/tmp/flowstate-startup.cpuprofile', JSON.stringify(profile));
}
console.log(`${pieces.join(' | ')} (ms)`);
