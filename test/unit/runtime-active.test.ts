import { afterEach, describe, expect, it } from 'vitest';
import {
  type Engine,
  memoryStore,
  RunIdTakenError,
  type WorkflowRun,
  type WorkflowStore,
  workflow,
} from '../../src/index.js';
import { deferred, testEngine } from '../support/engine.js';

/** Lets pending promise reactions and immediates run. */
const drain = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

const parked = workflow('activeParked').waitFor('go', { event: 'go', timeoutMs: 3_600_000 }).build();

/** What `engine.active` holds, read through every method a `ReadonlyMap` has, each compared with the others. */
function readAll(active: ReadonlyMap<string, WorkflowRun>) {
  const byEntries = [...active.entries()].map(([id, run]) => [id, run.id]);
  const byIterator = [...active].map(([id, run]) => [id, run.id]);
  const byKeys = [...active.keys()];
  const byValues = [...active.values()].map((run) => run.id);
  const byForEach: string[][] = [];
  active.forEach(function (this: unknown, run, id, map) {
    expect(map).toBe(active);
    expect(this).toBe(active);
    byForEach.push([id, run.id]);
  }, active);
  expect(byIterator).toEqual(byEntries);
  expect(byForEach).toEqual(byEntries);
  expect(byKeys).toEqual(byEntries.map(([id]) => id));
  expect(byValues).toEqual(byEntries.map(([, id]) => id));
  expect(active.size).toBe(byKeys.length);
  for (const id of byKeys) {
    expect(active.has(id)).toBe(true);
    expect(active.get(id)?.id).toBe(id);
  }
  return byKeys;
}

describe('engine.active', () => {
  it('lists the runs live here, in the order they started, and drops each as it ends', async () => {
    const engine = testEngine();
    const runs = ['a', 'b', 'c'].map((id) => engine.start(parked, {}, { id }));
    expect(readAll(engine.active)).toEqual(['a', 'b', 'c']);
    expect(engine.active.get('b')).toBe(runs[1]);
    runs[1]?.send({ type: 'go' });
    await runs[1]?.result;
    expect(readAll(engine.active)).toEqual(['a', 'c']);
    expect(engine.active.has('b')).toBe(false);
    expect(engine.active.get('b')).toBeUndefined();
    // A new run of an id that ended is listed as the newest.
    engine.start(parked, {}, { id: 'b' });
    expect(readAll(engine.active)).toEqual(['a', 'c', 'b']);
    runs[0]?.cancel();
    runs[2]?.cancel();
    await drain();
    expect(readAll(engine.active)).toEqual(['b']);
    // A read-only view: runs are added and removed by the engine only.
    expect('set' in engine.active || 'delete' in engine.active).toBe(false);
  });

  describe('with a store whose writes are held', () => {
    let engine: Engine | undefined;
    afterEach(async () => {
      await engine?.close();
      engine = undefined;
    });

    /** A memory store whose writes wait for `gate` while it is set. */
    function heldStore() {
      const store = memoryStore();
      const held = { gate: undefined as Promise<void> | undefined };
      const wrapped = new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'write') {
            return (batch: Parameters<WorkflowStore['write']>[0]) =>
              held.gate ? held.gate.then(() => target.write(batch)) : target.write(batch);
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return { store: wrapped, held };
    }

    it('does not list a run settling, nor count it, even when a new run takes its id meanwhile', async () => {
      const { store, held } = heldStore();
      engine = testEngine({ store });
      const first = engine.start(parked, {}, { id: 'x' });
      await engine.flush();
      expect(readAll(engine.active)).toEqual(['x']);
      const gate = deferred<void>();
      held.gate = gate.promise;
      first.send({ type: 'go' });
      await drain();
      // Ended, its final state not committed yet: no longer active, and not taken again meanwhile.
      expect(first.status).toBe('done');
      expect(readAll(engine.active)).toEqual([]);
      await expect(engine.resume('x')).rejects.toThrow(/already ended here/);
      // A run started with the same id meanwhile is active (claiming) and replaces the settling one here.
      const second = engine.start(parked, {}, { id: 'x' });
      expect(readAll(engine.active)).toEqual(['x']);
      expect(engine.active.get('x')).toBe(second);
      held.gate = undefined;
      gate.resolve();
      await expect(first.result).resolves.toMatchObject({ go: {} });
      // The stored run holds the id: the second never starts, and nothing is counted twice or below zero.
      await expect(second.result).rejects.toBeInstanceOf(RunIdTakenError);
      expect(readAll(engine.active)).toEqual([]);
      expect(engine.active.size).toBe(0);
      const third = engine.start(parked, {}, { id: 'y' });
      expect(readAll(engine.active)).toEqual(['y']);
      third.cancel();
      await expect(third.result).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(engine.active.size).toBe(0);
    });
  });
});
