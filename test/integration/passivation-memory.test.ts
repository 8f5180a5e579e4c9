import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { workflow } from '../../src/index.js';
import { settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';

const files = sqliteScratch('flowstate-passivate-mem-');
const RUNS = 10_000;
const AFTER = 5_000;

const approval = workflow('mem-approval')
  .step('plan')
  .waitFor('approve', { event: 'approved', timeoutMs: 3_600_000 })
  .step('ship')
  .build();

beforeEach(() =>
  vi.useFakeTimers({
    now: 0,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  }),
);
afterEach(() => vi.useRealTimers());

describe('passivation memory', () => {
  it(`${RUNS.toLocaleString('en')} runs passivated, all woken by events and finished: the heap returns to where it was`, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = async () => {
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setImmediate(r));
        gc();
      }
      return process.memoryUsage().heapUsed;
    };
    const engine = testEngine({
      store: files.store,
      lease: { owner: 'mem', adopt: false },
      inbox: { pollMs: 1_000 },
      passivate: { afterMs: AFTER },
      agents: { plan: async () => 'plan', ship: async () => 'ship' },
      workflows: [approval],
    });
    const pass = async (ms: number) => {
      for (let t = 0; t < ms; t += 500) {
        await vi.advanceTimersByTimeAsync(500);
        await settle(engine);
      }
    };
    /** Starts `RUNS` runs, lets them be passivated, wakes each by its event until all are done; heap when parked. */
    const round = async (name: string) => {
      for (let i = 0; i < RUNS; i++) engine.start(approval, {}, { id: `${name}${i}` });
      await settle(engine);
      await pass(AFTER + 1_000);
      expect(engine.active.size).toBe(0);
      const parked = await heap();
      for (let i = 0; i < RUNS; i += 200) {
        const batch = Array.from({ length: Math.min(200, RUNS - i) }, (_, j) =>
          engine.send(`${name}${i + j}`, { type: 'approved' }),
        );
        expect(await Promise.all(batch)).toEqual(Array(batch.length).fill(true));
      }
      await pass(1_000);
      expect(engine.active.size).toBe(0);
      return parked;
    };
    // The first round grows what keeps its capacity once grown (V8's hash tables of maps and WeakMaps, the compiled
    // code): its end is the baseline. A leak of the run table, the passivation's maps or its WeakRefs grows again.
    await round('a');
    const baseline = await heap();
    const parked = await round('b');
    expect(await files.store.countRuns?.({ status: 'done' })).toBe(2 * RUNS);
    const after = await heap();
    const mb = (n: number) => Math.round(n / 1e4) / 100;
    console.info(`heap: baseline ${mb(baseline)} MB, parked ${mb(parked)} MB, all done ${mb(after)} MB`);
    expect(parked - baseline).toBeLessThan(RUNS * 500);
    expect(after - baseline).toBeLessThan(RUNS * 50);
    await engine.close();
  }, 240_000);
});
