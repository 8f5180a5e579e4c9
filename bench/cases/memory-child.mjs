// Run by cases/memory.mjs in a fresh process with --expose-gc: heap bytes per parked workflow for one contender.
// Usage: node --expose-gc bench/cases/memory-child.mjs <contender> <count> <rounds>
import { contender } from '../contenders.mjs';
import { collect } from '../harness.mjs';

const [key, countArg = '10000', roundsArg = '3'] = process.argv.slice(2);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const parked = contender(key).parked();
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Parks `count` workflows, measures the heap they hold after a full GC, then releases and awaits them all. */
async function round(count) {
  const handles = new Array(count).fill(null);
  await tick();
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) handles[i] = parked.start();
  await tick();
  await tick();
  collect();
  const after = process.memoryUsage().heapUsed;
  const rss = process.memoryUsage().rss;
  const outputs = await Promise.all(handles.map((h) => parked.release(h)));
  if (outputs.some((o) => o?.approval?.by !== 'bench'))
    throw new Error(`${key}: a parked workflow did not end as expected`);
  return { perWorkflow: (after - before) / count, total: after - before, rss };
}

await round(1_000); // warm-up: code, inline caches and lazily built structures are not counted
const rounds = [];
for (let i = 0; i < Number(roundsArg); i++) rounds.push(await round(Number(countArg)));
process.stdout.write(JSON.stringify(rounds));
