import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { sqliteStore, workflow } from '../../src/index.js';
import { runObserver } from '../../src/observability/run-observer.js';
import { testEngine } from '../support/engine.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects until `ref` is gone (a few rounds: finalization may need more than one), then says whether it is. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return ref.deref() === undefined;
}

describe('a finished large map', () => {
  it('leaves nothing of its run in memory once the caller drops it (run table, learner, watch)', async () => {
    const ITEMS = 100_000;
    const engine = testEngine({ agents: { instant: (n: number) => n } });
    const wf = workflow('memory-map')
      .map('m', { items: 'input', step: { agent: 'instant' }, concurrency: 100 })
      .build();
    const refs = await (async () => {
      const run = engine.start(
        wf,
        Array.from({ length: ITEMS }, (_, i) => i),
      );
      // A watch, as the CLI and the web view set one up: it must not hold the run either once it ends.
      const watched = run.progress$.subscribe(() => {});
      const map = (run.actor.getSnapshot().children as Record<string, { getSnapshot(): { state: object } }>)
        .m;
      const state = map?.getSnapshot().state as object;
      const { m } = (await run.result) as { m: number[] };
      expect(m).toHaveLength(ITEMS);
      watched.unsubscribe();
      return { actor: new WeakRef(run.actor), state: new WeakRef(state), id: run.id };
    })();
    expect(engine.active.size).toBe(0);
    expect(await collected(refs.state)).toBe(true);
    expect(await collected(refs.actor)).toBe(true);
    // The engine without a store remembers the run's record, not its actor.
    expect(await engine.get(refs.id)).toMatchObject({ status: 'done' });
  }, 60_000);

  it('leaves nothing in memory on a SQLite engine either once its result is committed (run table, leases, writer)', async () => {
    const ITEMS = 5_000;
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-map-memory-'));
    const engine = testEngine({
      store: sqliteStore(join(dir, 'runs.db')),
      lease: { owner: 'memory' },
      agents: { instant: (n: number) => n },
    });
    const wf = workflow('memory-map-sqlite')
      .map('m', { items: 'input', step: { agent: 'instant' }, concurrency: 100 })
      .build();
    try {
      const refs = await (async () => {
        const run = engine.start(
          wf,
          Array.from({ length: ITEMS }, (_, i) => i),
        );
        const map = (run.actor.getSnapshot().children as Record<string, { getSnapshot(): { state: object } }>)
          .m;
        const state = map?.getSnapshot().state as object;
        const { m } = (await run.result) as { m: number[] };
        expect(m).toHaveLength(ITEMS);
        return { actor: new WeakRef(run.actor), state: new WeakRef(state), id: run.id };
      })();
      await engine.flush();
      expect(engine.active.size).toBe(0);
      expect(await collected(refs.state)).toBe(true);
      expect(await collected(refs.actor)).toBe(true);
      expect(await engine.get(refs.id)).toMatchObject({ status: 'done' });
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('an observed run (metrics, tracing) does not keep its ended items while its map goes on', async () => {
    const ITEMS = 3_000;
    // Past the learner's first 1,000 ended items, which a late watch lists.
    const WATCHED = 2_000;
    const { inspect } = runObserver({ attemptEnded: () => {} });
    const engine = testEngine({
      inspect,
      agents: { instant: (n: number) => (n === ITEMS - 1 ? new Promise(() => {}) : n) },
    });
    const wf = workflow('memory-map-observed')
      .map('m', { items: 'input', step: { agent: 'instant' }, concurrency: 10 })
      .build();
    const run = engine.start(
      wf,
      Array.from({ length: ITEMS }, (_, i) => i),
    );
    type Item = { index: number; getSnapshot(): { status: string; history: object } };
    type Map = {
      getSnapshot(): { touched: readonly Item[]; state: { settled: number } };
      subscribe(f: () => void): { unsubscribe(): void };
    };
    const map = (run.actor.getSnapshot().children as Record<string, Map>).m as Map;
    let history: WeakRef<object> | undefined;
    const watching = map.subscribe(() => {
      for (const item of map.getSnapshot().touched)
        if (item.index === WATCHED && item.getSnapshot().status === 'done')
          history = new WeakRef(item.getSnapshot().history);
    });
    for (let i = 0; i < 100 && map.getSnapshot().state.settled < ITEMS - 1; i++)
      await new Promise((r) => setImmediate(r));
    watching.unsubscribe();
    expect(map.getSnapshot().state.settled).toBe(ITEMS - 1);
    expect(history).toBeDefined();
    expect(await collected(history as WeakRef<object>)).toBe(true);
    run.cancel();
    await run.result.catch(() => {});
  }, 60_000);
});
