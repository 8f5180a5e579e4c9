// Run by cases/memory.mjs in a fresh process with --expose-gc: heap bytes per live workflow for one contender, parked
// on an event (`parked`) or in flight, held in step 6 of 10 (`inflight`).
// Usage: node --expose-gc bench/cases/memory-child.mjs <contender> <count> <rounds> [parked|inflight]
import { contender } from '../contenders.mjs';
import { collect } from '../harness.mjs';

const [key, countArg = '10000', roundsArg = '3', shape = 'parked'] = process.argv.slice(2);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
if (shape !== 'parked' && shape !== 'inflight') throw new Error(`unknown shape '${shape}'`);
const live = contender(key)[shape]();
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Starts `count` workflows, measures the heap they hold after a full GC, then releases and awaits them all. */
async function round(count) {
  const handles = new Array(count).fill(null);
  await tick();
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) handles[i] = live.start();
  // In flight: the five steps before the held one end on later ticks.
  for (let i = 0; i < (shape === 'inflight' ? 50 : 2); i++) await tick();
  collect();
  const after = process.memoryUsage().heapUsed;
  const rss = process.memoryUsage().rss;
  const outputs = await Promise.all(handles.map((h) => live.release(h)));
  const ended = shape === 'parked' ? (o) => o?.approval?.by === 'bench' : (o) => o?.s5 === 'opened';
  if (!outputs.every(ended)) throw new Error(`${key}: a ${shape} workflow did not end as expected`);
  return { perWorkflow: (after - before) / count, total: after - before, rss };
}

await round(1_000); // warm-up: code, inline caches and lazily built structures are not counted
const rounds = [];
for (let i = 0; i < Number(roundsArg); i++) rounds.push(await round(Number(countArg)));
process.stdout.write(JSON.stringify(rounds));
