import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../harness.mjs';

const child = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));

/** One contender's heap samples for `shape`, from a fresh `node --expose-gc` process. */
function measure(key, shape, count, rounds) {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', child, key, String(count), String(rounds), shape],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out);
}

/**
 * Heap bytes per live workflow, 10,000 at once: parked on an event (a `waitFor` with a 1 h timeout, or its
 * equivalent), and in flight (a 10-step sequence held in its sixth step, five steps ended). Each contender runs in
 * its own fresh `node --expose-gc` process so earlier cases leave no garbage behind.
 */
export async function memoryCases({ contenders, settings }) {
  const { count, rounds } = settings.memory;
  const live = count.toLocaleString('en');
  const perWorkflow = {
    id: 'parked',
    title: `heap per parked workflow (${live} live)`,
    unit: 'KB',
    better: 'lower',
    results: {},
  };
  const total = {
    ...perWorkflow,
    id: 'parkedTotal',
    title: `  same, heap for all ${live}`,
    unit: 'MB',
    results: {},
  };
  const inFlight = {
    ...perWorkflow,
    id: 'inflight',
    title: `heap per workflow in flight (${live} live, held in step 6 of 10)`,
    results: {},
  };
  for (const c of contenders) {
    const parked = measure(c.key, 'parked', count, rounds);
    perWorkflow.results[c.key] = summarize(parked.map((s) => s.perWorkflow / 1024));
    total.results[c.key] = summarize(parked.map((s) => s.total / 1024 ** 2));
    const running = measure(c.key, 'inflight', count, rounds);
    inFlight.results[c.key] = summarize(running.map((s) => s.perWorkflow / 1024));
  }
  return [perWorkflow, total, inFlight];
}
