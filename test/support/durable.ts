import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, vi } from 'vitest';
import { type EngineOptions, sqliteStore, type WorkflowStore } from '../../src/index.js';
import { testEngine } from './engine.js';

/** An agent that never settles: the step it runs is still in flight when the process "crashes". */
export const never = () => new Promise<never>(() => {});

/** The owner id of the process and of its restart (a stable replica name takes its own runs back at once). */
export const node = { owner: 'node-1' };

/** Lets agents settle and the group commit write (it runs on real setImmediate). */
export async function settle(engine: { flush(): Promise<void> }) {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await engine.flush();
}

/**
 * Fake timers (timeouts, intervals, `Date`) from epoch 0 for every test of the file that calls it: engines' sweeps,
 * schedulers and inbox polls run on them.
 */
export function fakeTimersEachTest(): void {
  beforeEach(() =>
    vi.useFakeTimers({
      now: 0,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    }),
  );
  afterEach(() => vi.useRealTimers());
}

/** Moves fake time on by `ms`, 250 ms at a time, letting `engines` settle and commit after each slice. */
export async function pass(ms: number, engines: readonly { flush(): Promise<void> }[] = []): Promise<void> {
  const slice = 250;
  for (let t = 0; t < ms; t += slice) {
    await vi.advanceTimersByTimeAsync(Math.min(slice, ms - t));
    for (const e of engines) await settle(e);
  }
}

/**
 * A fresh SQLite database file for each test of the file that calls it (in a temporary directory `prefix`...,
 * removed after the file): `path` and `store` are the current test's; `restarted` is a second engine on the same
 * file, what a restarted process sees.
 */
export function sqliteScratch(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let path = '';
  let store: WorkflowStore | undefined;
  beforeEach(() => {
    path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
    store = sqliteStore(path);
  });
  return {
    get path(): string {
      return path;
    },
    get store(): WorkflowStore {
      if (!store) throw new Error('sqliteScratch: the store exists in a test only');
      return store;
    },
    restarted: (options: EngineOptions) => testEngine({ lease: node, ...options, store: sqliteStore(path) }),
    /** A second connection to the current test's file: another process's view of the store. */
    restartedStore: (): WorkflowStore => sqliteStore(path),
  };
}
