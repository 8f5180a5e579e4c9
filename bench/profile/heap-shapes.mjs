// What the objects of a parked workflow are, by shape: heap snapshots before and after parking N workflows, objects
// grouped by kind and their property names (a string by its first characters, a closure by its name and where it
// was made), compared per workflow. Finer than heap-diff.mjs, which groups by constructor only. Run with --expose-gc:
//   node --expose-gc bench/profile/heap-shapes.mjs [contender] [count] [rows] [parked|inflight]
// (`inflight`: 10-step runs held in their step 6, as the memory case's in-flight row)
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { contender } from '../contenders.mjs';
import { collect } from '../harness.mjs';

const [key = 'flowstate', countArg = '2000', rowsArg = '40', shape = 'parked'] = process.argv.slice(2);
const count = Number(countArg);
const parked = shape === 'inflight' ? contender(key).inflight() : contender(key).parked();
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Self size and count by shape in a heap snapshot. */
function tally() {
  collect();
  const file = writeHeapSnapshot(
    join(tmpdir(), `flowstate-shapes-${process.pid}-${Date.now()}.heapsnapshot`),
  );
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file);
  const {
    node_fields: nf,
    edge_fields: ef,
    node_types: [types],
    edge_types: [edgeTypes],
  } = snap.snapshot.meta;
  const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f));
  const [eType, eName] = ['type', 'name_or_index'].map((f) => ef.indexOf(f));
  const { nodes, edges, strings } = snap;
  const out = new Map();
  let e = 0;
  for (let i = 0; i < nodes.length; i += nf.length) {
    const type = types[nodes[i + iType]];
    const n = nodes[i + iEdges];
    let shape;
    if (type === 'object' || type === 'closure') {
      const props = [];
      for (let j = 0; j < n && props.length < 12; j++) {
        const at = e + j * ef.length;
        const et = edgeTypes[edges[at + eType]];
        if (et === 'property' || (type === 'closure' && et === 'context'))
          props.push(strings[edges[at + eName]]);
      }
      shape = `${type}:${strings[nodes[i + iName]]} {${props.join(',')}}`;
    } else if (type === 'concatenated string') {
      // Its parts: the name V8 gives a cons string says nothing.
      const parts = [];
      for (let j = 0; j < n; j++) {
        const to = edges[e + j * ef.length + ef.indexOf('to_node')];
        parts.push(JSON.stringify(strings[nodes[to + iName]].slice(0, 24)));
      }
      shape = `${type}:${parts.join('+')}`;
    } else if (type === 'string' || type === 'sliced string') {
      shape = `${type}:${JSON.stringify(strings[nodes[i + iName]].slice(0, 40))}`;
    } else shape = `${type}:${strings[nodes[i + iName]].slice(0, 60)}`;
    e += n * ef.length;
    const t = out.get(shape) ?? { size: 0, count: 0 };
    t.size += nodes[i + iSize];
    t.count++;
    out.set(shape, t);
  }
  return out;
}

const warm = Array.from({ length: 200 }, () => parked.start());
await tick();
await Promise.all(warm.map((h) => parked.release(h)));
const handles = new Array(count).fill(null);
await tick();
// Kept as one flat string while the second snapshot is taken: a Map of shapes would be counted in it.
const before = JSON.stringify([...tally()]);
for (let i = 0; i < count; i++) handles[i] = parked.start();
await tick();
await tick();
const after = tally();
const beforeMap = new Map(JSON.parse(before));
const diff = [...after]
  .map(([k, a]) => [
    k,
    (a.size - (beforeMap.get(k)?.size ?? 0)) / count,
    (a.count - (beforeMap.get(k)?.count ?? 0)) / count,
  ])
  .filter(([, size]) => size > 1)
  .sort((x, y) => y[1] - x[1]);
const total = diff.reduce((s, [, size]) => s + size, 0);
console.log(
  `${key}: about ${Math.round(total)} bytes of self size per ${shape} workflow (shapes that grew)\n`,
);
console.log('bytes/wf  objs/wf  shape');
for (const [k, size, n] of diff.slice(0, Number(rowsArg))) {
  console.log(`${size.toFixed(0).padStart(8)}  ${n.toFixed(1).padStart(7)}  ${k.slice(0, 150)}`);
}
await Promise.all(handles.map((h) => parked.release(h)));
