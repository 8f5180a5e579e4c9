import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../harness.mjs';

const child = fileURLToPath(new URL('./map-child.mjs', import.meta.url));
const durableChild = fileURLToPath(new URL('./durable-map-child.mjs', import.meta.url));

/** Raw XState's map spawns and stops a child per item and copies its results per item: minutes past these sizes. */
const XSTATE_MAX_ITEMS = 10_000;

/** One timed map in a fresh process: `{ ms, rssMb }`. */
function runMap(key, items, concurrency, repeat) {
  const args = ['--expose-gc', child, key, String(items), String(concurrency), String(repeat)];
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out);
}

/**
 * Issue 17: a map that scales. 10,000 instant items at concurrency 10 and 1,000 (the cost must not grow with the
 * concurrency), and 100,000 items (time and peak RSS), each map in fresh processes, contenders interleaved. A
 * sample is a process's median of `repeat` timed runs after an untimed one of the same shape.
 */
export async function mapScaleCases({ contenders, settings }) {
  const runs = settings.mapScale.runs;
  const shapes = [
    { id: 'map10kC10', items: 10_000, concurrency: 10 },
    { id: 'map10kC1000', items: 10_000, concurrency: 1_000 },
    { id: 'map100k', items: 100_000, concurrency: 1_000 },
  ];
  const metrics = [];
  for (const shape of shapes) {
    const keys = contenders
      .map((c) => c.key)
      .filter((k) => k !== 'xstate' || (shape.items <= XSTATE_MAX_ITEMS && settings.mapScale.xstate));
    const samples = Object.fromEntries(keys.map((k) => [k, []]));
    for (let i = 0; i < runs; i++)
      for (const key of keys) {
        // Raw XState's map at concurrency 1,000 takes about a minute: one sample is enough for the comparison.
        if (key === 'xstate' && i > 0) continue;
        // The 100,000-item map is timed once per process, so its peak RSS is its own; raw XState's 10,000-item
        // maps take a minute each at concurrency 1,000, so they are timed once too.
        const repeat = shape.id === 'map100k' || key === 'xstate' ? 1 : settings.mapScale.repeat;
        samples[key].push(runMap(key, shape.items, shape.concurrency, repeat));
      }
    const title = `map: ${shape.items.toLocaleString('en')} instant items, concurrency ${shape.concurrency.toLocaleString('en')}`;
    metrics.push({
      id: shape.id,
      title,
      unit: 'ms',
      better: 'lower',
      results: Object.fromEntries(keys.map((k) => [k, summarize(samples[k].map((s) => s.ms))])),
    });
    if (shape.id === 'map100k') {
      metrics.push({
        id: 'map100kRss',
        title: '  same, peak RSS',
        unit: 'MB',
        better: 'lower',
        results: Object.fromEntries(keys.map((k) => [k, summarize(samples[k].map((s) => s.rssMb))])),
      });
    }
  }
  if (contenders.some((c) => c.key === 'flowstate')) metrics.push(...durableMapCases(runs));
  return metrics;
}

/**
 * Issue 17, durable: 20,000 instant items on SQLite at concurrency 10 and 1,000, each map in a fresh process, until
 * its last commit. Only Flowstate has a store. What a checkpoint carries no longer grows with the items ended (their
 * results and the items' inputs are journaled), but the run's own input (the item list here) is in every one.
 */
function durableMapCases(runs) {
  const metrics = [];
  for (const concurrency of [10, 1_000]) {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, [durableChild, '20000', String(concurrency)], {
        encoding: 'utf8',
      });
      samples.push(JSON.parse(out));
    }
    const id = `durableMap20kC${concurrency}`;
    const of = (key) => ({ sqlite: summarize(samples.map((s) => s[key])) });
    const title = `durable map on SQLite: 20,000 instant items, concurrency ${concurrency.toLocaleString('en')}`;
    metrics.push(
      { id, title, unit: 'ms', better: 'lower', baseline: 'sqlite', results: of('ms') },
      {
        id: `${id}Cpu`,
        title: '  same, CPU time',
        unit: 'ms',
        better: 'lower',
        baseline: 'sqlite',
        results: of('cpuMs'),
      },
      {
        id: `${id}Written`,
        title: '  same, snapshot text written',
        unit: 'MB',
        better: 'lower',
        baseline: 'sqlite',
        results: of('snapshotMb'),
      },
    );
  }
  return metrics;
}
