// Durable steps on SQLite in a loop, for profiling: 100 concurrent 10-step workflows per batch, each batch flushed
// (every checkpoint and journal entry committed), as the bench's durability case runs them. Prints µs per step.
//   node --cpu-prof --cpu-prof-dir=/tmp/flowstate-prof bench/profile/durable-step.mjs [seconds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, sqliteStore, workflow } from 'flowstate';
import { noop, sequenceNames } from '../workloads.mjs';

const seconds = Number(process.argv[2] ?? '8');
const dir = mkdtempSync(join(tmpdir(), 'flowstate-durable-prof-'));
const engine = createEngine({ agents: { noop }, logger: false, store: sqliteStore(join(dir, 'p.db')) });
const b = workflow('durable');
for (const name of sequenceNames(10)) b.step(name, { agent: 'noop' });
const definition = b.build();
let batch = 0;
let steps = 0;
const end = performance.now() + seconds * 1000;
const t0 = performance.now();
while (performance.now() < end) {
  const n = batch++;
  await Promise.all(
    Array.from({ length: 100 }, (_, i) => engine.start(definition, {}, { id: `b${n}-${i}` }).result),
  );
  await engine.flush();
  steps += 1000;
}
console.log(`${(((performance.now() - t0) * 1000) / steps).toFixed(1)} µs/step over ${steps} steps`);
await engine.close();
rmSync(dir, { recursive: true, force: true });
