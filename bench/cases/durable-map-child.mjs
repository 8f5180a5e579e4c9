// Run by cases/map-scale.mjs (and bench/profile/durable-map.mjs) in a fresh process: one durable map of <items>
// instant items at <concurrency> on a fresh SQLite file, through a store that counts what it is asked to write.
// Prints `{ ms, cpuMs, batches, snapshotMb, journalMb, journalRows }`: wall and CPU time (this process; SQLite's work
// included, better-sqlite3 is synchronous) from start to the last commit, and the bytes of JSON text written.
// `--dist <dir>` measures another build (its `bundle/index.js`), for a before/after comparison. `--from-count`
// computes the items from a one-number input, so the run's own input (in every checkpoint's context) does not grow
// with them: what is left is the map's own cost.
// Usage: node bench/cases/durable-map-child.mjs <items> <concurrency> [--dist <dir>] [--from-count]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';

const args = process.argv.slice(2);
const distAt = args.indexOf('--dist');
const dist = distAt >= 0 ? args.splice(distAt, 2)[1] : undefined;
const countAt = args.indexOf('--from-count');
const fromCount = countAt >= 0 && args.splice(countAt, 1).length > 0;
const [itemsArg = '20000', concurrencyArg = '10'] = args;
const items = Number(itemsArg);
const concurrency = Number(concurrencyArg);
const { createEngine, sqliteStore, workflow } = await import(
  dist ? pathToFileURL(resolve(dist, 'bundle/index.js')).href : 'flowstate'
);

/** Wraps a store: counts the bytes of snapshot and journal text each write carries, and the batches. */
function counting(inner) {
  const counts = { batches: 0, snapshotBytes: 0, journalBytes: 0, journalRows: 0 };
  const store = { ...inner };
  store.write = async (batch) => {
    counts.batches++;
    for (const { run } of batch.runs) counts.snapshotBytes += run.snapshot.length;
    for (const entry of batch.journal) {
      counts.journalRows++;
      counts.journalBytes += entry.output.length;
    }
    return inner.write(batch);
  };
  return { store, counts };
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
const definition = workflow('durable-map')
  .map('m', {
    items: fromCount ? (ctx) => range(ctx.input.count) : 'input',
    step: { agent: 'item' },
    concurrency,
  })
  .build();
const input = fromCount ? { count: items } : range(items);
const dir = mkdtempSync(join(tmpdir(), 'flowstate-durable-map-'));
const { store, counts } = counting(sqliteStore(join(dir, 'map.db')));
const engine = createEngine({
  store,
  agents: { item: async (n) => n * 2 },
  workflows: [definition],
  logger: pino({ level: 'silent' }),
});
try {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await engine.start(definition, input).result;
  await engine.flush();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (result.m.length !== items || result.m[items - 1] !== (items - 1) * 2)
    throw new Error('the durable map did not end with its results in item order');
  const mb = (bytes) => bytes / 1e6;
  process.stdout.write(
    JSON.stringify({
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      batches: counts.batches,
      snapshotMb: mb(counts.snapshotBytes),
      journalMb: mb(counts.journalBytes),
      journalRows: counts.journalRows,
    }),
  );
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
