// A durable map on SQLite, before/after: <items> instant items at <concurrency>, <repeat> fresh processes
// (cases/durable-map-child.mjs); prints the medians of wall and CPU time and what was written. Wall time swings with
// the machine's load; CPU time and the bytes much less (the bytes not at all for a given batching).
//   node bench/profile/durable-map.mjs [items=20000] [concurrency=10] [repeat=3] [--dist /path/to/other/dist]
//     [--from-count: the items computed from a one-number input, see cases/durable-map-child.mjs]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('../cases/durable-map-child.mjs', import.meta.url));
const args = process.argv.slice(2);
const distAt = args.indexOf('--dist');
const dist = distAt >= 0 ? args.splice(distAt, 2) : [];
const countAt = args.indexOf('--from-count');
const flags = countAt >= 0 ? args.splice(countAt, 1) : [];
const [items = '20000', concurrency = '10', repeat = '3'] = args;
const samples = [];
for (let i = 0; i < Number(repeat); i++) {
  const out = execFileSync(process.execPath, [child, items, concurrency, ...dist, ...flags], {
    encoding: 'utf8',
  });
  samples.push(JSON.parse(out));
}
const median = (key) => samples.map((s) => s[key]).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const [first] = samples;
console.log(
  `${items} items${flags.length ? ' (from a count)' : ''}, concurrency ${concurrency}${dist.length ? ` (${dist[1]})` : ''}: wall ${median('ms').toFixed(0)} ms, ` +
    `CPU ${median('cpuMs').toFixed(0)} ms (of ${samples.map((s) => s.cpuMs.toFixed(0)).join(', ')}); ` +
    `${first.batches} batches, snapshots ${first.snapshotMb.toFixed(2)} MB, journal ${first.journalMb.toFixed(2)} MB ` +
    `in ${first.journalRows} rows (load ${loadavg()[0].toFixed(2)})`,
);
