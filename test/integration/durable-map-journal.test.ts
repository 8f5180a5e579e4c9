import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type AgentContext, type WorkflowStore, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StoreBatch } from '../../src/persistence/types.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';
import { eventually } from '../support/poll.js';

const files = sqliteScratch('flowstate-durable-map-journal-');
const { restarted } = files;

/** A store that counts what each write carries: checkpoint snapshot text, journal rows and their text. */
function counting(inner: WorkflowStore) {
  const counts = { batches: 0, snapshotBytes: 0, journalRows: 0, journalBytes: 0 };
  const store: WorkflowStore = {
    ...inner,
    write: (batch: StoreBatch) => {
      counts.batches++;
      for (const { run } of batch.runs) counts.snapshotBytes += run.snapshot.length;
      for (const entry of batch.journal) {
        counts.journalRows++;
        counts.journalBytes += entry.output.length;
      }
      return inner.write(batch);
    },
  };
  return { store, counts };
}

/** The stored map snapshot of a run. */
async function storedMap(store: WorkflowStore, id: string) {
  return JSON.parse((await store.getRun(id))?.snapshot ?? '{}').children?.m?.snapshot;
}

describe('a durable map leaves what the journal holds out of its checkpoints', () => {
  // Items computed from a one-number input: nothing else in the run's snapshot grows with the items.
  const counted = workflow('map-bytes')
    .map('m', {
      items: (ctx) => Array.from({ length: (ctx.input as { n: number }).n }, (_, i) => i),
      step: { agent: 'item' },
      concurrency: 1,
    })
    .build();

  async function bytesFor(n: number) {
    const { store, counts } = counting(memoryStore());
    const engine = testEngine({
      lease: node,
      store,
      agents: { item: async (i: number) => i * 2 },
      workflows: [counted],
    });
    const result = await engine.start(counted, { n }, { id: `bytes-${n}` }).result;
    await engine.flush();
    await engine.close();
    expect(result).toEqual({ m: Array.from({ length: n }, (_, i) => i * 2) });
    return counts;
  }

  it('writes O(N) bytes for N items, not O(N^2 / concurrency)', async () => {
    // Concurrency 1: a checkpoint per item or so, the worst case for a snapshot that carries every result.
    const small = await bytesFor(500);
    const large = await bytesFor(2_000);
    // Four times the items: about four times the bytes (sixteen if each checkpoint carried the results so far).
    const ratio = large.snapshotBytes / small.snapshotBytes;
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(5);
    expect(large.journalBytes / small.journalBytes).toBeLessThan(5);
    // Every item's output is one journal row, and the items' inputs one more.
    expect(small.journalRows).toBe(501);
    expect(large.journalRows).toBe(2_001);
    // And per item, a checkpoint's worth (the run's context, the running item), whatever the position in the map.
    expect(large.snapshotBytes / large.batches).toBeLessThan(4_000);
  }, 60_000);

  it('keeps in the snapshot the value an escalation gave an item (not journaled), and restores it', async () => {
    const wf = workflow('map-kept')
      .map('m', {
        items: 'input',
        step: { agent: 'item', escalate: { to: 'human', timeoutMs: 3_600_000 } },
        concurrency: 2,
      })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: {
        item: async (n: number) => {
          if (n === 1) throw new Error('needs a human');
          return n === 0 ? 'zero' : never();
        },
      },
      workflows: [wf],
    });
    const run = first.start(wf, [0, 1, 2, 3], { id: 'kept' });
    await eventually(() => run.waitingSteps().includes('m[1]'));
    await first.resolveEscalation('kept', 'm[1]', { action: 'skip', value: { by: 'a human' } });
    await eventually(() => run.actor.getSnapshot().children.m?.getSnapshot().state.settled === 2);
    await settle(first);
    const map = await storedMap(files.store, 'kept');
    expect(map.results).toBeUndefined();
    expect(map.kept).toEqual({ 1: { by: 'a human' } });
    expect(Object.keys(map.children)).toEqual(['m[2]', 'm[3]']);

    const calls: number[] = [];
    const second = restarted({
      agents: {
        item: (n: number) => {
          calls.push(n);
          return `again-${n}`;
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ m: ['zero', { by: 'a human' }, 'again-2', 'again-3'] });
    expect(calls.sort()).toEqual([2, 3]);
  });

  it('compensates every finished item of a failed resumed map with the output read back from the journal', async () => {
    const wf = workflow('map-compensated')
      .map('m', { items: 'input', step: { agent: 'item', compensate: 'undo' }, concurrency: 2 })
      .step('after', { agent: 'boom', onError: 'compensate' })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { item: async (n: number) => (n < 3 ? `done-${n}` : never()), undo: never, boom: never },
      workflows: [wf],
    });
    const run = first.start(wf, [0, 1, 2, 3], { id: 'compensated' });
    await eventually(() => run.actor.getSnapshot().children.m?.getSnapshot().state.settled === 3);
    await settle(first);
    const map = await storedMap(files.store, 'compensated');
    expect(map.results).toBeUndefined();
    // The order items finished in is the compensation's (last first): kept, it is indexes, not results.
    expect(map.completed).toEqual([0, 1, 2]);

    const undone: unknown[] = [];
    const second = restarted({
      agents: {
        item: async (n: number) => `again-${n}`,
        undo: async (input: { step: string; output: unknown }) => {
          undone.push([input.step, input.output]);
          return null;
        },
        boom: async () => {
          throw new Error('after failed');
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).rejects.toMatchObject({ stepPath: 'after' });
    expect(resumed?.status).toBe('compensated');
    expect(undone).toEqual([
      ['m[3]', 'again-3'],
      ['m[2]', 'done-2'],
      ['m[1]', 'done-1'],
      ['m[0]', 'done-0'],
    ]);
  });

  it('restores a map of a loop from its own round: an earlier round journaled under the same paths is not read', async () => {
    const wf = workflow('map-rounds')
      .loop('rounds', (b) => b.map('m', { items: 'input', step: { agent: 'item' }, concurrency: 1 }), {
        until: (ctx) => (ctx.results.m as unknown[] | undefined)?.includes('stop') === true,
        maxIterations: 3,
      })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: {
        item: async (n: number, ctx: AgentContext) => {
          if (!ctx.idempotencyKey.includes('@2')) return `r1-${n}`;
          return n < 2 ? `r2-${n}` : never();
        },
      },
      workflows: [wf],
    });
    const run = first.start(wf, [0, 1, 2], { id: 'loops' });
    await eventually(() => {
      const state = run.actor.getSnapshot().children.m?.getSnapshot().state;
      return state?.input.step.round === '2' && state.settled === 2;
    });
    await settle(first);
    expect(await files.store.getJournal('loops:m[1]@2:1')).toMatchObject({ output: '"r2-1"' });
    expect(await files.store.getJournal('loops:m[1]:1')).toMatchObject({ output: '"r1-1"' });
    expect(await storedMap(files.store, 'loops')).toMatchObject({ next: 3, settled: 2, kept: {} });

    const keys: string[] = [];
    const second = restarted({
      agents: {
        item: async (_n: number, ctx: AgentContext) => {
          keys.push(ctx.idempotencyKey);
          return 'stop';
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ m: ['r2-0', 'r2-1', 'stop'] });
    expect(keys).toEqual(['loops:m[2]@2:1']);
  });
});

describe('a map in a child workflow', () => {
  it("is read back under the child's path, beside a map of the parent with the same name", async () => {
    const child = workflow('map-child')
      .map('m', { items: 'input', step: { agent: 'inner' }, concurrency: 1 })
      .build();
    const wf = workflow('map-parent')
      .map('m', { items: 'input', step: { agent: 'outer' }, concurrency: 1 })
      .step('sub', { workflow: child, input: 'input' })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: {
        outer: async (n: number) => `outer-${n}`,
        inner: async (n: number) => (n < 2 ? `inner-${n}` : never()),
      },
      workflows: [wf, child],
    });
    first.start(wf, [0, 1, 2], { id: 'nested' });
    await eventually(() => first.active.get('nested')?.actor.getSnapshot().children.sub !== undefined);
    const innerMap = () =>
      JSON.parse(JSON.stringify(first.active.get('nested')?.actor.getPersistedSnapshot() ?? {})).children?.sub
        ?.snapshot?.children?.m?.snapshot;
    await eventually(() => innerMap()?.settled === 2);
    await settle(first);
    const stored = JSON.parse((await files.store.getRun('nested'))?.snapshot ?? '{}');
    const map = stored.children.sub.snapshot.children.m.snapshot;
    expect(map).toMatchObject({ settled: 2, kept: {}, inputsJournaled: true });
    expect(map.results).toBeUndefined();

    const keys: string[] = [];
    const second = restarted({
      agents: {
        outer: async () => 'never again',
        inner: async (n: number, ctx: AgentContext) => {
          keys.push(ctx.idempotencyKey);
          return `again-${n}`;
        },
      },
      workflows: [wf, child],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({
      m: ['outer-0', 'outer-1', 'outer-2'],
      sub: { m: ['inner-0', 'inner-1', 'again-2'] },
    });
    expect(keys).toEqual(['nested:sub/m[2]:1']);
  });
});

describe('a map snapshot written before results moved to the journal', () => {
  /**
   * Written by the previous Flowstate (results and inputs in the map's snapshot): items 0 and 3 done (journaled),
   * 1 done with a human's `skip` value (not journaled: only the snapshot has it), 2 skipped after an abort, 4 to 6
   * in flight. Regenerate it only from a build of that version.
   */
  const fixture = JSON.parse(
    readFileSync(new URL('../support/map-legacy-run.json', import.meta.url), 'utf8'),
  ) as {
    snapshot: { children: { m: { snapshot: Record<string, unknown> } } };
    journal: { key: string; runId: string; stepPath: string; attempt: number; output: string }[];
  };
  const wf = workflow('legacy-durable-map')
    .map('m', {
      items: 'input',
      step: { agent: 'item', onError: 'skip', escalate: { to: 'human', timeoutMs: 3_600_000 } },
      concurrency: 3,
    })
    .build();

  it('has the old shape', () => {
    const map = fixture.snapshot.children.m.snapshot;
    expect(map.results).toEqual(['old-0', 'human-1', null, 'old-3', null, null, null]);
    expect(map).toMatchObject({
      skipped: [2],
      next: 7,
      settled: 4,
      input: { inputs: [0, 1, 2, 3, 4, 5, 6] },
    });
    expect(map.kept).toBeUndefined();
  });

  it('resumes with its results, runs only the items not ended or journaled, and survives a second crash', async () => {
    const store = files.store;
    const lease = { owner: 'old-node', epoch: 1 };
    const run = {
      id: 'legacy-map',
      workflow: wf.id,
      version: wf.version,
      status: 'running' as const,
      input: [0, 1, 2, 3, 4, 5, 6],
      snapshot: JSON.stringify(fixture.snapshot),
      createdAt: 1,
      updatedAt: 1,
    };
    await store.write({ claims: [{ run, owner: lease.owner, leaseUntil: 0 }], runs: [], journal: [] });
    // Item 4 ended and was journaled after that checkpoint, before the crash.
    const item4 = {
      key: 'legacy-map:m[4]:1',
      runId: 'legacy-map',
      stepPath: 'm[4]',
      attempt: 1,
      output: '"old-4"',
    };
    await store.write({
      runs: [{ run, timers: [], lease }],
      journal: [...fixture.journal, item4].map((e) => ({ ...e, createdAt: 1, lease })),
    });

    const calls: number[] = [];
    const second = restarted({
      agents: {
        item: async (n: number) => {
          calls.push(n);
          return n === 5 ? `new-${n}` : never();
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await eventually(() => resumed?.actor.getSnapshot().children.m?.getSnapshot().state.settled === 6);
    await settle(second);
    // Checkpoints from now on are of the new shape: the old results kept (which of them are journaled is not known).
    const map = await storedMap(store, 'legacy-map');
    expect(map.results).toBeUndefined();
    expect(map.kept).toEqual({ 0: 'old-0', 1: 'human-1', 3: 'old-3' });
    expect(Object.keys(map.children)).toEqual(['m[6]']);
    await second.close();

    const third = restarted({
      agents: {
        item: async (n: number) => {
          calls.push(n);
          return `last-${n}`;
        },
      },
      workflows: [wf],
    });
    const [again] = await third.recover();
    await expect(again?.result).resolves.toEqual({
      m: ['old-0', 'human-1', null, 'old-3', 'old-4', 'new-5', 'last-6'],
    });
    // 5 and 6 were in flight at the first crash, 6 again at the second; nothing ended ran twice.
    expect(calls.sort()).toEqual([5, 6, 6]);
  });
});

describe('a store that fails after items were journaled, before a checkpoint recorded them', () => {
  it('resumes with every result in item order; no item that ended runs again', async () => {
    const wf = workflow('map-store-dies')
      .map('m', { items: 'input', step: { agent: 'item' }, concurrency: 3 })
      .build();
    const inner = files.store;
    let dead = false;
    const dying: WorkflowStore = {
      ...inner,
      write: async (batch) => {
        if (dead) throw new Error('the store is gone');
        // The batch that journals item 5: its journal rows commit, its checkpoint does not, nothing after it does.
        if (batch.journal.some((e) => e.stepPath === 'm[5]')) {
          dead = true;
          await inner.write({ runs: [], journal: batch.journal });
          throw new Error('the store died mid-batch');
        }
        return inner.write(batch);
      },
    };
    const firstCalls: number[] = [];
    const first = testEngine({
      lease: { ...node, ttlMs: 60_000 },
      store: dying,
      agents: {
        item: async (n: number) => {
          firstCalls.push(n);
          return n <= 5 ? `first-${n}` : never();
        },
      },
      workflows: [wf],
    });
    first.start(wf, [0, 1, 2, 3, 4, 5, 6, 7, 8], { id: 'dies' });
    await eventually(() => dead);
    const stored = await storedMap(inner, 'dies');
    // The last checkpoint that committed does not know item 5 ended: only the journal does.
    expect(stored.children['m[5]'] !== undefined || stored.next <= 5).toBe(true);
    expect(await inner.getJournal('dies:m[5]:1')).toMatchObject({ output: '"first-5"' });

    const secondCalls: number[] = [];
    const second = restarted({
      agents: {
        item: async (n: number) => {
          secondCalls.push(n);
          return `second-${n}`;
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({
      m: [
        'first-0',
        'first-1',
        'first-2',
        'first-3',
        'first-4',
        'first-5',
        'second-6',
        'second-7',
        'second-8',
      ],
    });
    // Items 6 and 7 were in flight in the first process (never answered); nothing that ended ran twice.
    expect(firstCalls.filter((n) => n <= 5).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(secondCalls.sort()).toEqual([6, 7, 8]);
  });
});
