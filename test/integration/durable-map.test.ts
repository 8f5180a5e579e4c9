import { describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';
import { eventually } from '../support/poll.js';

const files = sqliteScratch('flowstate-durable-map-');
const { restarted } = files;

const fan = workflow('durable-map')
  .map('m', { items: 'input', step: { agent: 'item' }, concurrency: 2 })
  .step('after', { agent: 'after', input: 'results.m' })
  .build();

describe('a map resumed after a crash (SQLite)', () => {
  it('never calls an item whose output was checkpointed or journaled, in flight or started after the checkpoint', async () => {
    // Items 0-2 finish; 3 and 4 are in flight at the crash.
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { item: (n: number) => (n < 3 ? `first-${n}` : never()), after: never },
      workflows: [fan],
    });
    first.start(fan, [0, 1, 2, 3, 4, 5, 6], { id: 'map-1' });
    await settle(first);
    const stored = await files.store.getRun('map-1');
    expect(stored?.status).toBe('running');
    // The crash came after item 4 was journaled, and item 5, started then, journaled too, before a checkpoint.
    const { owner, epoch } = stored ?? {};
    const entry = (index: number) => ({
      key: `map-1:m[${index}]:1`,
      runId: 'map-1',
      stepPath: `m[${index}]`,
      attempt: 1,
      output: JSON.stringify(`journaled-${index}`),
      createdAt: 0,
      lease: { owner: owner ?? '', epoch: epoch ?? 0 },
    });
    await files.store.write({ runs: [], journal: [entry(4), entry(5)] });

    const calls: string[] = [];
    const second = restarted({
      agents: {
        item: (n: number, ctx: { idempotencyKey: string }) => {
          calls.push(ctx.idempotencyKey);
          return `second-${n}`;
        },
        after: (results: unknown[]) => results.length,
      },
      workflows: [fan],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({
      m: ['first-0', 'first-1', 'first-2', 'second-3', 'journaled-4', 'journaled-5', 'second-6'],
      after: 7,
    });
    expect(calls.sort()).toEqual(['map-1:m[3]:1', 'map-1:m[6]:1']);
    await settle(second);
    expect(await second.get('map-1')).toMatchObject({ status: 'done' });
  });

  it('keeps the stored snapshot bounded: finished items leave nothing in it, their results are journaled', async () => {
    const engine = testEngine({
      lease: node,
      store: files.store,
      agents: { item: (n: number) => (n < 500 ? n : never()), after: never },
      workflows: [fan],
    });
    const run = engine.start(
      fan,
      Array.from({ length: 1_000 }, (_, i) => i),
      { id: 'map-2' },
    );
    const settled = () =>
      (run.actor.getSnapshot().children.m?.getSnapshot() as { state?: { settled: number } } | undefined)
        ?.state?.settled;
    await eventually(() => settled() === 500);
    await settle(engine);
    const snapshot = JSON.parse((await files.store.getRun('map-2'))?.snapshot ?? '{}');
    const map = snapshot.children.m.snapshot;
    expect(Object.keys(map.children)).toEqual(['m[500]', 'm[501]']);
    expect(map.settled).toBe(500);
    expect(map.results).toBeUndefined();
    expect(map.kept).toEqual({});
    expect(map.input.inputs).toBeUndefined();
    const output = async (i: number) =>
      JSON.parse((await files.store.getJournal(`map-2:m[${i}]:1`))?.output ?? 'null');
    expect([await output(0), await output(499)]).toEqual([0, 499]);
    expect(await files.store.getJournal('map-2:m[500]:1')).toBeUndefined();
  });

  it('keeps an escalated item waiting across a restart; the decision on `m[i]` reaches it there', async () => {
    const wf = workflow('durable-map-esc')
      .map('m', {
        items: 'input',
        step: { agent: 'item', escalate: { to: 'human', timeoutMs: 60_000 } },
        concurrency: 3,
      })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: {
        item: async (n: number) => {
          if (n === 1) throw new Error('needs a human');
          return n;
        },
      },
      workflows: [wf],
    });
    first.start(wf, [0, 1, 2], { id: 'map-esc' });
    await eventually(() => first.active.get('map-esc')?.status === 'waiting');
    await settle(first);
    expect(await first.get('map-esc')).toMatchObject({ status: 'waiting' });
    // The item's deadline is a timer row of the run, as a step's is (what a passivated run is woken by).
    expect(await files.store.listTimers('map-esc')).toMatchObject([
      { stepPath: 'm[1]', kind: 'escalation', deadline: expect.any(Number) },
    ]);
    const item = (n: number) => {
      if (n === 1) throw new Error('still needs a human');
      return -1;
    };
    const second = restarted({ agents: { item }, workflows: [wf] });
    const [resumed] = await second.recover();
    expect(resumed?.waitingSteps()).toEqual(['m[1]']);
    await second.resolveEscalation('map-esc', 'm[1]', { action: 'skip', value: 'approved' });
    await expect(resumed?.result).resolves.toEqual({ m: [0, 'approved', 2] });
  });
});
