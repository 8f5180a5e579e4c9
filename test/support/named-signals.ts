// What the named-signal tests share: a workflow that shows a double application, the stores they run on, a store
// that can "kill" its engine, and where run `x` is.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type WorkflowStore, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { sqliteStore } from '../../src/persistence/sqlite-store.js';
import { testEngine } from './engine.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const connectionError = () =>
  Object.assign(new Error('Connection terminated unexpectedly'), { code: '08006' });
export const waitFor = async (what: () => Promise<boolean>) => {
  for (let i = 0; i < 500 && !(await what()); i++) await sleep(10);
};

/** Two waits for the same event: an event applied twice moves the run two steps. */
export const twice = workflow('keyed-twice')
  .waitFor('first', { event: 'go', timeoutMs: 600_000 })
  .waitFor('second', { event: 'go', timeoutMs: 600_000 })
  .step('after')
  .build();

export const stores: Array<[string, () => WorkflowStore]> = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore(join(mkdtempSync(join(tmpdir(), 'flowstate-keyed-')), 'runs.db'))],
];

/**
 * A store an engine stops reaching at once, as if its process were killed: every call from then on never answers
 * (its lease is not renewed, nothing more is written).
 */
export function killable(inner: WorkflowStore) {
  const state = { dead: false, holdWrites: false };
  const never = new Promise<never>(() => {});
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function' || name === 'close') return value;
      return (...args: unknown[]) => {
        if (state.dead || (state.holdWrites && name === 'write')) return never;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, state };
}

/** Where run `x` is: which of its waits took an event (`first` ... `done`). */
export async function progressOf(store: WorkflowStore): Promise<string> {
  const run = await store.getRun('x');
  if (run?.status === 'done') return 'done';
  return String((JSON.parse(run?.snapshot || '{}') as { value?: unknown }).value);
}

/** Run `x` waiting on engine `a`, whose store calls can be stopped as if `a` were killed. */
export async function waitingOnKillable(shared: WorkflowStore) {
  const { store, state } = killable(shared);
  const options = { agents: { after: () => 'ok' }, workflows: [twice], inbox: { pollMs: 20 } };
  const a = testEngine({ ...options, store, lease: { owner: 'a', ttlMs: 300, adopt: false } });
  a.start(twice, {}, { id: 'x' });
  await a.flush();
  await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
  return { shared, state, a, options };
}
