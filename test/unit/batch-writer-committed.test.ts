import { describe, expect, it } from 'vitest';
import { BatchWriter, type Checkpoint } from '../../src/persistence/batch-writer.js';
import type { StoreBatch, StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { deferred } from '../support/engine.js';

/** A store whose writes wait for the test: each resolves or fails when told. */
function heldStore() {
  const writes: Array<{ batch: StoreBatch; done: ReturnType<typeof deferred<undefined>> }> = [];
  const store = {
    write(batch: StoreBatch) {
      const done = deferred<undefined>();
      writes.push({ batch, done });
      return done.promise;
    },
  } as unknown as WorkflowStore;
  return { store, writes };
}

const lease = { owner: 'a', epoch: 1 };
const checkpointOf = (id: string): Checkpoint => ({ run: { id } as StoredRun, timers: [], lease });
const ticks = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

describe('BatchWriter.committed', () => {
  it('is false while a checkpoint is queued, then while its batch is being written; true once committed', async () => {
    const { store, writes } = heldStore();
    const writer = new BatchWriter(store);
    expect(writer.committed('r1')).toBe(true);
    const done = writer.checkpoint('r1', () => checkpointOf('r1'));
    expect(writer.committed('r1')).toBe(false);
    await ticks();
    // Taken and in flight: nothing queued for it any more, and still not committed.
    expect(writes).toHaveLength(1);
    expect(writer.committed('r1')).toBe(false);
    expect(writer.committed('r2')).toBe(true);
    writes[0]?.done.resolve(undefined);
    await done;
    expect(writer.committed('r1')).toBe(true);
  });

  it('counts journal entries and signal answers of the run, queued or in flight', async () => {
    const { store, writes } = heldStore();
    const writer = new BatchWriter(store);
    void writer.record({
      key: 'r1:s:1',
      runId: 'r1',
      stepPath: 's',
      attempt: 1,
      output: '1',
      createdAt: 0,
      lease,
    });
    void writer.answer({ id: 'm1', runId: 'r2', state: 'applied', result: 'true', lease });
    expect([writer.committed('r1'), writer.committed('r2'), writer.committed('r3')]).toEqual([
      false,
      false,
      true,
    ]);
    // Queued after it was last asked: seen too.
    void writer.answer({ id: 'm3', runId: 'r3', state: 'applied', result: 'true', lease });
    expect(writer.committed('r3')).toBe(false);
    await ticks();
    expect([writer.committed('r1'), writer.committed('r2')]).toEqual([false, false]);
    writes[0]?.done.resolve(undefined);
    await writer.flush();
    expect([writer.committed('r1'), writer.committed('r2'), writer.committed('r3')]).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('a failed batch stays uncommitted: queued again, then written again, until a write takes it', async () => {
    const { store, writes } = heldStore();
    const writer = new BatchWriter(store);
    const done = writer.checkpoint('r1', () => checkpointOf('r1'));
    await ticks();
    writes[0]?.done.reject(new Error('store down'));
    await ticks();
    expect(writer.committed('r1')).toBe(false);
    // Retried after its backoff (about 50 ms): in flight again, still not committed.
    while (writes.length < 2) await new Promise((r) => setTimeout(r, 10));
    expect(writer.committed('r1')).toBe(false);
    writes[1]?.done.resolve(undefined);
    await done;
    expect(writer.committed('r1')).toBe(true);
  });
});
