import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../harness.mjs';

const child = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));

/**
 * Heap bytes per live workflow parked on an event (a `waitFor` with a 1 h timeout, or its equivalent), 10,000 at
 * once. Each contender runs in its own fresh `node --expose-gc` process so earlier cases leave no garbage behind.
 */
export async function memoryCases({ contenders, settings }) {
  const { count, rounds } = settings.memory;
  const perWorkflow = {
    id: 'parked',
    title: `heap per parked workflow (${count.toLocaleString('en')} live)`,
    unit: 'KB',
    better: 'lower',
    results: {},
  };
  const total = {
    ...perWorkflow,
    id: 'parkedTotal',
    title: `  same, heap for all ${count.toLocaleString('en')}`,
    unit: 'MB',
    results: {},
  };
  for (const c of contenders) {
    const out = execFileSync(process.execPath, ['--expose-gc', child, c.key, String(count), String(rounds)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const samples = JSON.parse(out);
    perWorkflow.results[c.key] = summarize(samples.map((s) => s.perWorkflow / 1024));
    total.results[c.key] = summarize(samples.map((s) => s.total / 1024 ** 2));
  }
  return [perWorkflow, total];
}
