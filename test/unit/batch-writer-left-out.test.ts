import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../src/persistence/batch-writer.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StoredRun } from '../../src/persistence/types.js';

const run = (id: string, snapshot = '{"v":0}'): StoredRun => ({
  id,
  workflow: 'w',
  version: 'v',
  status: 'waiting',
  input: {},
  snapshot,
  createdAt: 1,
  updatedAt: 1,
});

describe('a run left out of a batch (its checkpoint cannot be stored)', () => {
  it('its signal answer is not committed without the checkpoint that applied it', async () => {
    const store = memoryStore();
    const lease = { owner: 'e', epoch: 1 };
    await store.write({
      claims: ['a', 'b'].map((id) => ({ run: run(id), owner: 'e', leaseUntil: Date.now() + 60_000 })),
      runs: [],
      journal: [],
    });
    await store.post({ id: 's1', runId: 'a', kind: 'event', body: '{}', state: 'pending', createdAt: 1 });
    const left: string[] = [];
    const writer = new BatchWriter(store, { onUnwritable: (id) => left.push(id) });
    const done = Promise.all([
      writer.answer({ id: 's1', runId: 'a', state: 'applied', result: '1', lease }),
      writer.record({
        key: 'j1',
        runId: 'a',
        stepPath: 'x',
        attempt: 1,
        output: '1',
        createdAt: 2,
        lease,
      } as never),
      writer.checkpoint('a', () => ({
        run: { ...run('a'), output: { n: 1n } as unknown, status: 'done', updatedAt: 2 },
        timers: [],
        lease,
      })),
      writer.checkpoint('b', () => ({ run: run('b', '{"v":1}'), timers: [], lease })),
    ]);
    await done;
    expect(left).toEqual(['a']);
    expect((await store.getRun('b'))?.snapshot).toBe('{"v":1}');
    const a = await store.getRun('a');
    const msg = await store.getMessage('s1');
    // Neither the checkpoint nor the answer it made: the signal stays pending, never told applied for a lost effect.
    expect({ status: a?.status, answer: msg?.state }).toEqual({ status: 'waiting', answer: 'pending' });
  });
});
