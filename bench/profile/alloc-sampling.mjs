// Bytes allocated per step, by the function that allocated them (V8's sampling heap profiler, objects collected since
// included), for one contender on the 100-step sequence:
//   node bench/profile/alloc-sampling.mjs [contender] [runs] [steps=100]   (steps=10: a short run, its start and end weigh more)
// GC is a third of a step's CPU in both contenders; this says which allocations feed it.
import { Session } from 'node:inspector/promises';
import { contender } from '../contenders.mjs';

const [key = 'flowstate', runsArg = '300', stepsArg = '100'] = process.argv.slice(2);
const runs = Number(runsArg);
const STEPS = Number(stepsArg);
const w = contender(key).sequence(STEPS);
for (let i = 0; i < 50; i++) await w.start();
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
for (let i = 0; i < runs; i++) await w.start();
const { profile } = await session.post('HeapProfiler.stopSampling');
const bySite = new Map();
let total = 0;
const walk = (node) => {
  total += node.selfSize;
  const { functionName, url, lineNumber } = node.callFrame;
  const site = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}`;
  bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child);
};
walk(profile.head);
const perStep = (bytes) => bytes / runs / STEPS;
console.log(`${key}: ${perStep(total).toFixed(0)} bytes allocated per step (sampled)\n`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${perStep(bytes).toFixed(0).padStart(6)}  ${site}`);
process.exit(0);
