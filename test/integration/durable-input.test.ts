import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type WorkflowStore, workflow } from '../../src/index.js';
import type { StoredRun } from '../../src/persistence/index.js';
import { RUN_INPUT_MARK } from '../../src/persistence/stored-input.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';

const files = sqliteScratch('flowstate-input-');
const { restarted } = files;

/** Wraps a store: the snapshot text of every checkpoint it is asked to write, in order. */
function counting(inner: WorkflowStore) {
  const snapshots: string[] = [];
  const store: WorkflowStore = Object.create(inner) as WorkflowStore;
  store.write = (batch) => {
    for (const { run } of batch.runs) snapshots.push(run.snapshot);
    return inner.write(batch);
  };
  return { store, snapshots, bytes: () => snapshots.reduce((sum, s) => sum + s.length, 0) };
}

/** An agent that keeps each input it is given in `seen` and returns `value`. */
const recording = (seen: unknown[], value: string) => (input: unknown) => {
  seen.push(input);
  return value;
};

/** An input whose items are easy to find in stored text; `n` of them, all of one width. */
const itemsInput = (n: number) => ({
  label: 'the-label',
  items: Array.from({ length: n }, (_, i) => `item-${String(i).padStart(6, '0')}`),
});

const six = workflow('input-six').step('s1').step('s2').step('s3').step('s4').step('s5').step('s6').build();
const sixAgents = {
  s1: () => 'ok',
  s2: () => 'ok',
  s3: () => 'ok',
  s4: () => 'ok',
  s5: () => 'ok',
  s6: () => 'ok',
};

describe('checkpoints leave the run input to the record', () => {
  it('writes the same snapshot bytes for 10 items as for 5,000: the input is stored once, in the record', async () => {
    const measure = async (n: number, id: string) => {
      const { store, snapshots, bytes } = counting(files.store);
      const engine = testEngine({ lease: node, store, agents: sixAgents, workflows: [six] });
      const run = engine.start(six, itemsInput(n), { id });
      await expect(run.result).resolves.toMatchObject({ s6: 'ok' });
      await settle(engine);
      const record = (await files.store.getRun(id)) as StoredRun;
      return { snapshots, bytes: bytes(), record };
    };
    const small = await measure(10, 'small');
    const large = await measure(5_000, 'large-');
    const inputBytes = JSON.stringify(itemsInput(5_000)).length;
    // Each unmapped step's actor held the input as well: six steps, at least a checkpoint each.
    expect(large.snapshots.length).toBeGreaterThanOrEqual(6);
    for (const text of large.snapshots) {
      expect(text).not.toContain('item-004999');
      expect(text.length).toBeLessThan(inputBytes / 20);
    }
    const longest = (s: string[]) => Math.max(...s.map((t) => t.length));
    // Batching may take a different number of checkpoints; none of them grows with the input.
    expect(Math.abs(longest(large.snapshots) - longest(small.snapshots))).toBeLessThanOrEqual(8);
    expect(large.bytes / large.snapshots.length).toBeLessThan(longest(small.snapshots) + 8);
    // The record holds it once, whole.
    expect((large.record.input as { items: string[] }).items).toHaveLength(5_000);
    expect(large.record.snapshot).toContain(RUN_INPUT_MARK);
  });
});

const child = workflow('input-child').step('c').build();
const fan = workflow('input-fan')
  .step('a')
  .parallel('fan', {
    b: (p) => p.step('b'),
    sub: (p) => p.step('sub', { workflow: child }),
    mapped: (p) => p.step('mapped', { workflow: child, input: 'input.label' }),
  })
  .build();

type Parsed = {
  context: { input: unknown };
  children: Record<string, { snapshot: { input?: { input: unknown }; context?: { input: unknown } } }>;
};

describe('restore puts the record input back', () => {
  it('into the root, its unmapped steps and child workflows; a mapped child keeps its own input', async () => {
    const input = itemsInput(50);
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: (i: { items: string[] }) => i.items.length, b: never, c: never },
      workflows: [fan, child],
    });
    first.start(fan, input, { id: 'f1' });
    await settle(first);
    const stored = (await files.store.getRun('f1')) as StoredRun;
    expect(stored.snapshot).not.toContain('item-000007');
    const parsed = JSON.parse(stored.snapshot) as Parsed;
    expect(parsed.context.input).toEqual({ [RUN_INPUT_MARK]: 1 });
    expect(parsed.children.b?.snapshot.input?.input).toEqual({ [RUN_INPUT_MARK]: 1 });
    expect(parsed.children.sub?.snapshot.context?.input).toEqual({ [RUN_INPUT_MARK]: 1 });
    // The mapped child's input is its own, in no record: it stays in the snapshot.
    expect(parsed.children.mapped?.snapshot.context?.input).toBe('the-label');

    const seen: unknown[] = [];
    const second = restarted({
      agents: {
        a: () => 'again',
        b: (i: { items: string[] }) => i.items.length,
        c: (i: unknown) => {
          seen.push(i);
          return typeof i === 'string' ? i : (i as { items: string[] }).items.length;
        },
      },
      workflows: [fan, child],
    });
    const [resumed] = await second.recover();
    const output = (await resumed?.result) as Record<string, unknown>;
    expect(output.a).toBe(50);
    expect(JSON.stringify(output)).toContain('"b":50');
    expect(seen).toContainEqual(input);
    expect(seen).toContain('the-label');
    await settle(second);
    expect((await files.store.getRun('f1'))?.snapshot).not.toContain('item-000007');
  });

  it('restores a run stored before (the input inside its snapshot), then stores it without', async () => {
    const fixture = JSON.parse(
      readFileSync(new URL('../fixtures/run-with-input-in-snapshot.json', import.meta.url), 'utf8'),
    ) as StoredRun;
    // Written by the previous code (see test/fixtures/README.md): the input 4 times inside.
    expect(fixture.snapshot.split('"item-7"').length - 1).toBe(4);
    const old = workflow('input-fixture')
      .step('a')
      .parallel('fan', {
        b: (p) => p.step('b'),
        sub: (p) => p.step('sub', { workflow: oldChild }),
        mapped: (p) => p.step('mapped', { workflow: oldChild, input: 'input.label' }),
      })
      .build();
    expect(old.version).toBe(fixture.version);
    const { owner: _o, epoch: _e, leaseUntil: _l, ...run } = fixture as StoredRun & Record<string, unknown>;
    await files.store.write({ claims: [{ run, owner: 'gone', leaseUntil: 0 }], runs: [], journal: [] });
    const seen: unknown[] = [];
    const engine = restarted({
      agents: {
        a: () => 'again',
        b: (i: { items: string[] }) => i.items.length,
        c: (i: unknown) => {
          seen.push(i);
          return typeof i === 'string' ? i : (i as { items: string[] }).items.length;
        },
      },
      workflows: [old, oldChild],
    });
    const [resumed] = await engine.recover();
    const output = (await resumed?.result) as Record<string, unknown>;
    expect(output.a).toBe('a saw 50');
    expect(JSON.stringify(output)).toContain('"b":50');
    expect(seen).toContainEqual(fixture.input);
    expect(seen).toContain('fixture-label');
    await settle(engine);
    const after = (await files.store.getRun('old-1')) as StoredRun;
    expect(after.status).toBe('done');
    expect(after.snapshot).not.toContain('"item-7"');
  });
});

const oldChild = workflow('fixture-child').step('c').build();

describe('secrets', () => {
  const wf = workflow('input-secret', { secrets: ['input.apiKey'] })
    .step('call', { input: (ctx) => ({ key: (ctx.input as { apiKey: string }).apiKey }) })
    .step('next')
    .build();
  const seal = {
    seal: (v: string) => `sealed:${Buffer.from(v).toString('base64')}`,
    open: (t: string) => Buffer.from(t.slice('sealed:'.length), 'base64').toString(),
  };

  it('opens the record input with the hook on resume; nothing in clear in the store', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      secrets: seal,
      agents: { call: () => 'called', next: never },
      workflows: [wf],
    });
    first.start(wf, { apiKey: 'sk-very-secret', table: 'orders' }, { id: 's1' });
    await settle(first);
    const stored = (await files.store.getRun('s1')) as StoredRun;
    expect(JSON.stringify(stored)).not.toContain('sk-very-secret');
    expect(stored.snapshot).toContain(RUN_INPUT_MARK);
    const seen: unknown[] = [];
    const second = restarted({
      secrets: seal,
      agents: { call: () => 'again', next: recording(seen, 'done') },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ call: 'called', next: 'done' });
    expect(seen).toEqual([{ apiKey: 'sk-very-secret', table: 'orders' }]);
  });

  it('without a hook the resumed run sees the redacted input, as before', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { call: () => 'called', next: never },
      workflows: [wf],
    });
    first.start(wf, { apiKey: 'sk-very-secret', table: 'orders' }, { id: 's2' });
    await settle(first);
    expect(JSON.stringify(await files.store.getRun('s2'))).not.toContain('sk-very-secret');
    const seen: unknown[] = [];
    const second = restarted({
      agents: { call: () => 'again', next: recording(seen, 'done') },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ call: 'called', next: 'done' });
    expect(seen).toEqual([{ apiKey: '[redacted]', table: 'orders' }]);
  });
});

describe('migration hooks', () => {
  const v1 = workflow('input-migrating').step('a').step('b').build();
  const v2 = workflow('input-migrating').step('a').step('b').step('c').build();

  it('see the snapshot with the input in place, the very object passed as `input`', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: () => 'A', b: never },
      workflows: [v1],
    });
    first.start(v1, itemsInput(20), { id: 'm1' });
    await settle(first);
    let given: { input: unknown; snapshot: unknown } | undefined;
    const second = restarted({
      agents: { a: () => 'again', b: never, c: never },
      workflows: [v2],
      migrate: {
        'input-migrating': (stored) => {
          given = { input: stored.input, snapshot: stored.snapshot };
          return { action: 'snapshot', snapshot: stored.snapshot };
        },
      },
    });
    await second.recover();
    expect(given?.input).toEqual(itemsInput(20));
    const snapshot = given?.snapshot as Parsed;
    expect(snapshot.context.input).toBe(given?.input);
    expect(snapshot.children.b?.snapshot.input?.input).toBe(given?.input);
    await settle(second);
    // The snapshot handed back holds that object: the next checkpoints leave it out still.
    expect((await files.store.getRun('m1'))?.snapshot).not.toContain('item-000007');
  });

  it('restart from a new input: the record takes it, later restores put it back', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: () => 'A', b: never },
      workflows: [v1],
    });
    first.start(v1, itemsInput(20), { id: 'm2' });
    await settle(first);
    const fresh = itemsInput(3);
    const second = restarted({
      agents: { a: () => 'A2', b: never, c: never },
      workflows: [v2],
      migrate: { 'input-migrating': () => ({ action: 'restart', input: fresh }) },
    });
    await second.recover();
    await settle(second);
    const stored = (await files.store.getRun('m2')) as StoredRun;
    expect(stored.version).toBe(v2.version);
    expect(stored.input).toEqual(fresh);
    expect(stored.snapshot).toContain(RUN_INPUT_MARK);
    expect(stored.snapshot).not.toContain('item-0000');
    const seen: unknown[] = [];
    const third = restarted({
      agents: { a: () => 'A3', b: recording(seen, 'B'), c: () => 'C' },
      workflows: [v2],
    });
    const [resumed] = await third.recover();
    await expect(resumed?.result).resolves.toEqual({ a: 'A2', b: 'B', c: 'C' });
    expect(seen).toEqual([fresh]);
  });
});
