import { describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { deferred, testEngine } from '../support/engine.js';
import { eventually } from '../support/poll.js';

const files = sqliteScratch('flowstate-map-adversarial-');
const { restarted } = files;

describe('a durable map, attacked (SQLite)', () => {
  it('takes a decision on an item from another engine through the inbox while the other items still run', async () => {
    const wf = workflow('adv-inbox-decision')
      .map('m', {
        items: 'input',
        step: { agent: 'item', escalate: { to: 'human', timeoutMs: 60_000 } },
        concurrency: 3,
      })
      .build();
    const slow = deferred();
    const owner = testEngine({
      store: files.store,
      lease: { owner: 'owner', ttlMs: 5_000, adopt: false },
      inbox: { pollMs: 10 },
      agents: {
        item: async (n: number) => {
          if (n === 1) throw new Error('needs a human');
          if (n === 2) return slow.promise;
          return n;
        },
      },
      workflows: [wf],
    });
    const run = owner.start(wf, [0, 1, 2, 3], { id: 'inbox-map' });
    await eventually(() => run.waitingSteps().includes('m[1]'));
    const other = testEngine({
      store: files.store,
      lease: { owner: 'other', ttlMs: 5_000, adopt: false },
      inbox: { pollMs: 10 },
    });
    await expect(other.resolveEscalation('inbox-map', 'm[2]', { action: 'skip' })).rejects.toMatchObject({
      code: 'CONFIGURATION_INVALID',
    });
    await other.resolveEscalation('inbox-map', 'm[1]', { action: 'skip', value: 'approved' });
    expect(run.status).not.toBe('done');
    slow.resolve('slow-2');
    await expect(run.result).resolves.toEqual({ m: [0, 'approved', 'slow-2', 3] });
    await Promise.all([owner.close(), other.close()]);
  });

  it('cancels from another engine while items back off: no attempt after, the run stored cancelled', async () => {
    const wf = workflow('adv-inbox-cancel')
      .map('m', {
        items: 'input',
        step: { agent: 'item', retry: { attempts: 5, backoff: 'fixed', initialMs: 60_000 } },
        concurrency: 2,
      })
      .build();
    const calls: string[] = [];
    const owner = testEngine({
      store: files.store,
      lease: { owner: 'owner', ttlMs: 5_000, adopt: false },
      inbox: { pollMs: 10 },
      agents: {
        item: (n: number, ctx: { attempt: number }) => {
          calls.push(`${n}:${ctx.attempt}`);
          throw new Error('flaky');
        },
      },
      workflows: [wf],
    });
    const run = owner.start(wf, [0, 1, 2], { id: 'cancel-map' });
    await eventually(() => calls.length === 2);
    await settle(owner);
    expect(await files.store.listTimers('cancel-map')).toMatchObject([
      { stepPath: 'm[0]', kind: 'backoff' },
      { stepPath: 'm[1]', kind: 'backoff' },
    ]);
    const other = testEngine({
      store: files.store,
      lease: { owner: 'other', ttlMs: 5_000, adopt: false },
      inbox: { pollMs: 10 },
    });
    await other.cancel('cancel-map', 'stop it');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    await settle(owner);
    expect(await files.store.getRun('cancel-map')).toMatchObject({ status: 'cancelled' });
    expect(await files.store.listTimers('cancel-map')).toEqual([]);
    expect(calls.sort()).toEqual(['0:1', '1:1']);
    await Promise.all([owner.close(), other.close()]);
  });

  it('resumes over the list it stored, even if the items it was computed from changed since', async () => {
    const wf = workflow('adv-stored-list')
      .step('list', { agent: 'list' })
      .map('m', { items: 'results.list', step: { agent: 'item' }, concurrency: 1 })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { list: () => [10, 20, 30], item: (n: number) => (n === 10 ? n + 1 : never()) },
      workflows: [wf],
    });
    const running = first.start(wf, {}, { id: 'stored-list' });
    const settled = () =>
      (running.actor.getSnapshot().children.m?.getSnapshot() as { state?: { settled: number } } | undefined)
        ?.state?.settled;
    await eventually(() => settled() === 1);
    await settle(first);
    // Someone rewrites the list the map was computed from: the map already holds its own.
    const stored = await files.store.getRun('stored-list');
    if (!stored) throw new Error('not stored');
    const snapshot = JSON.parse(stored.snapshot);
    // The map's list is its own: journaled once when the map started, out of every checkpoint since.
    expect(snapshot.children.m.snapshot).toMatchObject({ settled: 1, inputsJournaled: true });
    expect(snapshot.children.m.snapshot.input.inputs).toBeUndefined();
    expect(JSON.parse((await files.store.getJournal('stored-list:m:items'))?.output ?? 'null')).toEqual([
      10, 20, 30,
    ]);
    snapshot.context.results.list = [99];
    const lease = { owner: stored.owner ?? '', epoch: stored.epoch ?? 0 };
    await files.store.write({
      runs: [{ run: { ...stored, snapshot: JSON.stringify(snapshot) }, timers: [], lease }],
      journal: [],
    });
    const seen: number[] = [];
    const second = restarted({
      agents: {
        list: () => [99],
        item: (n: number) => {
          seen.push(n);
          return n + 1;
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ list: [99], m: [11, 21, 31] });
    expect(seen).toEqual([20, 30]);
  });
});
