// Bytes allocated per step by allocation site (function:line:column), and the share that outlived a scavenge (V8's
// sampling heap profiler: once with objects collected by minor GCs, once without), for one contender:
//   node [--no-allocation-site-pretenuring] bench/profile/gc-survival.mjs [contender] [runs=300] [steps=100]
// What outlives a scavenge is copied, and, promoted, collected only by a full collection: the GC time of a step.
import { Session } from 'node:inspector/promises';
import { contender } from '../contenders.mjs';

const [key = 'flowstate', runsArg = '300', stepsArg = '100'] = process.argv.slice(2);
const [runs, steps] = [Number(runsArg), Number(stepsArg)];
const w = contender(key).sequence(steps);
for (let i = 0; i < 50; i++) await w.start();
const session = new Session();
session.connect();

/** Bytes per step by allocation site, sampled over `runs` runs. */
async function sample(includeObjectsCollectedByMinorGC) {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC,
  });
  for (let i = 0; i < runs; i++) await w.start();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const bySite = new Map();
  const walk = (node, parent) => {
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\//, '')}`;
    // A builtin (Map, Set, spread...) is named with the function that called it.
    const site = url ? `${name}:${lineNumber + 1}:${columnNumber + 1}` : `${name} < ${parent}`;
    if (node.selfSize) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize / runs / steps);
    for (const child of node.children) walk(child, url ? `${name}:${lineNumber + 1}` : parent);
  };
  walk(profile.head, '');
  return bySite;
}

const all = await sample(true);
const outlived = await sample(false);
const rows = [...all].map(([site, bytes]) => [site, bytes, outlived.get(site) ?? 0]);
const total = (i) => rows.reduce((sum, row) => sum + row[i], 0);
console.log(
  `${key}: ${total(1).toFixed(0)} bytes a step allocated, ${total(2).toFixed(0)} outlived a scavenge\n`,
);
console.log('allocated  outlived  share  site');
for (const [site, bytes, kept] of rows.sort((a, b) => b[2] - a[2]).slice(0, 20))
  console.log(
    `${bytes.toFixed(0).padStart(9)} ${kept.toFixed(0).padStart(9)}  ${(kept / bytes).toFixed(2)}   ${site}`,
  );
process.exit(0);
