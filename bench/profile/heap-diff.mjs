// What a parked workflow holds on the heap, by object kind: heap snapshots before and after parking N workflows,
// compared by constructor (self size per workflow). Run with --expose-gc:
//   node --expose-gc bench/profile/heap-diff.mjs [contender] [count] [rows]
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { contender } from '../contenders.mjs';
import { collect } from '../harness.mjs';

const [key = 'flowstate', countArg = '2000', rowsArg = '25'] = process.argv.slice(2);
const count = Number(countArg);
const parked = contender(key).parked();
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Self size and count by `type:name` in a heap snapshot. */
function tally() {
  collect();
  const file = writeHeapSnapshot(join(tmpdir(), `flowstate-heap-${process.pid}-${Date.now()}.heapsnapshot`));
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file);
  const {
    node_fields: fields,
    node_types: [types],
  } = snap.snapshot.meta;
  const width = fields.length;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    const name =
      type === 'string' || type === 'concatenated string' ? '(string)' : snap.strings[snap.nodes[i + iName]];
    const k = `${type}:${name}`.slice(0, 80);
    const t = out.get(k) ?? { size: 0, count: 0 };
    t.size += snap.nodes[i + iSize];
    t.count++;
    out.set(k, t);
  }
  return out;
}

const warm = Array.from({ length: 200 }, () => parked.start());
await tick();
await Promise.all(warm.map((h) => parked.release(h)));
const handles = new Array(count).fill(null);
await tick();
const before = tally();
for (let i = 0; i < count; i++) handles[i] = parked.start();
await tick();
await tick();
const after = tally();
const diff = [...after]
  .map(([k, a]) => [
    k,
    (a.size - (before.get(k)?.size ?? 0)) / count,
    (a.count - (before.get(k)?.count ?? 0)) / count,
  ])
  .filter(([, size]) => size > 1)
  .sort((x, y) => y[1] - x[1]);
const total = diff.reduce((s, [, size]) => s + size, 0);
console.log(
  `${key}: about ${Math.round(total)} bytes of self size per parked workflow (objects that grew)\n`,
);
console.log('bytes/wf  objs/wf  kind:constructor');
for (const [k, size, n] of diff.slice(0, Number(rowsArg))) {
  console.log(`${size.toFixed(0).padStart(8)}  ${n.toFixed(1).padStart(7)}  ${k}`);
}
await Promise.all(handles.map((h) => parked.release(h)));
