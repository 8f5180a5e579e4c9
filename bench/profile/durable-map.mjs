// A durable map on SQLite: <items> instant items at <concurrency>, on a store that counts what it is asked to write
// (checkpoint snapshots and journal outputs, in bytes of JSON text; batches). Prints wall and CPU time (this process,
// SQLite's work included: better-sqlite3 is synchronous) and the bytes, so a before/after comparison does not rest on
// wall time alone on a shared machine. Compare two builds with --dist:
//   node bench/profile/durable-map.mjs [items=20000] [concurrency=10] [repeat=3] [--dist /path/to/dist]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';

const args = process.argv.slice(2);
const distAt = args.indexOf('--dist');
const dist = distAt >= 0 ? args.splice(distAt, 2)[1] : undefined;
const [itemsArg = '20000', concurrencyArg = '10', repeatArg = '3'] = args;
const items = Number(itemsArg);
const concurrency = Number(concurrencyArg);
const repeat = Number(repeatArg);
const { createEngine, sqliteStore, workflow } = await import(
  dist ? pathToFileURL(resolve(dist, 'bundle/index.js')).href : 'flowstate'
);

/** Wraps a store: counts the bytes of snapshot and journal text each write carries, and the batches. */
function counting(inner) {
  const counts = { batches: 0, snapshotBytes: 0, journalBytes: 0, journalRows: 0 };
  const store = Object.create(inner);
  Object.assign(store, inner);
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

const definition = workflow('durable-map')
  .map('m', { items: 'input', step: { agent: 'item' }, concurrency })
  .build();
const input = Array.from({ length: items }, (_, i) => i);

async function once() {
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
      throw new Error('the map did not end with its results in item order');
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ...counts };
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const samples = [];
for (let i = 0; i < repeat; i++) samples.push(await once());
const median = (key) => samples.map((s) => s[key]).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const mb = (bytes) => (bytes / 1e6).toFixed(2);
console.log(
  `${items} items, concurrency ${concurrency}${dist ? ` (${dist})` : ''}: wall ${median('ms').toFixed(0)} ms, ` +
    `CPU ${median('cpuMs').toFixed(0)} ms (median of ${repeat}: ${samples.map((s) => s.cpuMs.toFixed(0)).join(', ')}); ` +
    `${samples[0].batches} batches, snapshots ${mb(samples[0].snapshotBytes)} MB, journal ${mb(samples[0].journalBytes)} MB ` +
    `in ${samples[0].journalRows} rows (load ${loadavg()[0].toFixed(2)})`,
);
process.exit(0);
