// Captures runs stored mid-flight by a Flowstate build of stored format 2 (top-level nodes below a `running` state),
// the fixture of test/integration/durable-flat-legacy.test.ts (whose definitions are these):
//   node scripts/capture-flat-legacy.mjs <that build's dist/src/index.js> test/support/flat-legacy-runs.json
// Each run stops at an agent that never settles; the process then exits, as a crash would.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [, , dist, out] = process.argv;
const { workflow, createEngine, sqliteStore } = await import(pathToFileURL(dist).href);
const { pino } = createRequire(dist)('pino');
const never = () => new Promise(() => {});

const child = workflow('flat-legacy-child').step('c1', { agent: 'c1' }).step('c2', { agent: 'c2' }).build();
const wfs = {
  sequence: workflow('flat-legacy-sequence')
    .step('a', { agent: 'a' })
    .step('b', { agent: 'b' })
    .step('c', { agent: 'c' })
    .build(),
  branch: workflow('flat-legacy-branch')
    .step('a', { agent: 'a' })
    .branch('triage', [
      { when: 'results.a.ok', then: (b) => b.step('x', { agent: 'x' }).step('y', { agent: 'y' }) },
      { otherwise: (b) => b.step('z', { agent: 'z' }) },
    ])
    .step('c', { agent: 'c' })
    .build(),
  loop: workflow('flat-legacy-loop')
    .loop('rounds', (b) => b.step('draft', { agent: 'draft' }), {
      until: 'results.draft.good',
      maxIterations: 5,
    })
    .step('c', { agent: 'c' })
    .build(),
  wait: workflow('flat-legacy-wait')
    .step('a', { agent: 'a' })
    .waitFor('approval', { event: 'approved', timeoutMs: 3_600_000 })
    .step('c', { agent: 'c' })
    .build(),
  compensating: workflow('flat-legacy-compensating')
    .step('a', { agent: 'a', compensate: 'undoA' })
    .step('b', { agent: 'b', onError: 'compensate' })
    .build(),
  child: workflow('flat-legacy-parent')
    .step('a', { agent: 'a' })
    .step('sub', { workflow: child })
    .step('c', { agent: 'c' })
    .build(),
};
let draftCalls = 0;
const agents = {
  a: async () => ({ ok: true }),
  b: async () => never(),
  c: async () => never(),
  x: async () => 'x',
  y: async () => never(),
  z: async () => 'z',
  draft: async () => (++draftCalls === 1 ? { good: false } : never()),
  c1: async () => 'c1',
  c2: async () => never(),
  undoA: async () => never(),
};
const dir = mkdtempSync(join(tmpdir(), 'flat-capture-'));
const file = join(dir, 'runs.db');
const store = sqliteStore(file);
const engine = createEngine({
  store,
  logger: pino({ level: 'silent' }),
  random: () => 0,
  lease: { owner: 'old-node' },
  workflows: [...Object.values(wfs), child],
  agents: {
    ...agents,
    b: async (_input, ctx) => {
      if (ctx.workflowId === 'compensating') throw new Error('b broke');
      return never();
    },
  },
});
for (const [id, wf] of Object.entries(wfs)) engine.start(wf, { n: 1 }, { id });
await new Promise((r) => setTimeout(r, 1500));
await engine.flush?.();
const fixture = {};
for (const id of Object.keys(wfs)) {
  const run = await store.getRun(id);
  const journal = await store.listJournal(id);
  fixture[id] = {
    workflow: run.workflow,
    version: run.version,
    status: run.status,
    input: run.input,
    snapshot: JSON.parse(run.snapshot),
    journal: journal.map(({ key, runId, stepPath, attempt, output }) => ({
      key,
      runId,
      stepPath,
      attempt,
      output,
    })),
  };
  console.log(
    id,
    run.status,
    JSON.stringify(JSON.parse(run.snapshot).value),
    journal.map((j) => j.stepPath),
  );
}
writeFileSync(out, `${JSON.stringify(fixture, null, 1)}\n`);
process.exit(0);
