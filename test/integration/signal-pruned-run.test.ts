// A signal to a run that is pruned while it is sent: the caller read the run (`getRun`: waiting, held by a live
// engine) and posts to the inbox, or waits for the owner's answer, while `runs prune` deletes the run with its inbox
// rows. The caller gets `RUN_NOT_FOUND` at once (the API a 404), never a row left for no run and a wait until
// `timeoutMs` (`SIGNAL_TIMEOUT`, the API's `202 queued`) for an answer that cannot come.
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createServeApp } from '../../src/cli/serve/app.js';
import { type AnyWorkflowDefinition, type Engine, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { keyedSignalId } from '../../src/runtime/inbox.js';
import { testEngine } from '../support/engine.js';

const wf = workflow('pruned-signal').waitFor('gate', { event: 'go', timeoutMs: 600_000 }).build();
const TIMEOUT = 4_000;

/** The run as its caller read it, before the prune: waiting, held by another engine's live lease. */
const stale = (id: string): StoredRun => ({
  id,
  workflow: wf.id,
  version: 'v',
  status: 'waiting',
  input: {},
  snapshot: '',
  createdAt: 1,
  updatedAt: 1,
  owner: 'other',
  epoch: 1,
  leaseUntil: Date.now() + 600_000,
});

/**
 * A memory store whose first `getRun` of each id in `stale` answers as before the prune (the caller's read), and
 * which holds `ended` as a done run of another engine, its lease over: what a prune deletes.
 */
async function racedStore(staleIds: readonly string[], ended: readonly string[] = []) {
  const inner = memoryStore();
  for (const id of ended) {
    const { owner: _owner, epoch: _epoch, leaseUntil: _until, ...record } = stale(id);
    const run: StoredRun = { ...record, status: 'done' };
    await inner.write({ claims: [{ run, owner: 'other', leaseUntil: 0 }], runs: [], journal: [] });
  }
  const read = new Set<string>();
  const store: WorkflowStore = {
    ...inner,
    async getRun(id) {
      if (staleIds.includes(id) && !read.has(id)) {
        read.add(id);
        return stale(id);
      }
      return inner.getRun(id);
    },
  };
  const prune = () => inner.pruneEnded?.({ endedBefore: Date.now() + 1_000 });
  return { store, prune };
}

const settle = async (sending: Promise<unknown>) => {
  const started = Date.now();
  const outcome = await sending.then(
    (value) => ({ value }),
    (error: { code?: string }) => ({ code: error.code }),
  );
  return { ...outcome, ms: Date.now() - started };
};

const engines: Engine[] = [];
afterAll(async () => {
  for (const engine of engines) await engine.close();
});

describe('a signal to a run pruned while it is sent', () => {
  it('is refused with RUN_NOT_FOUND when the run went between the read and the post, and stores nothing', async () => {
    const { store } = await racedStore(['gone', 'gone-named']);
    const engine = testEngine({ workflows: [wf], store, lease: { adopt: false } });
    engines.push(engine);
    const sent = await settle(engine.send('gone', { type: 'go' }, { timeoutMs: TIMEOUT }));
    expect(sent).toMatchObject({ code: 'RUN_NOT_FOUND' });
    expect(sent.ms).toBeLessThan(TIMEOUT / 2);
    const named = await settle(
      engine.send('gone-named', { type: 'go' }, { timeoutMs: TIMEOUT, signalId: 'approve' }),
    );
    expect(named).toMatchObject({ code: 'RUN_NOT_FOUND' });
    expect(await store.getMessage(keyedSignalId('gone-named', 'approve'))).toBeUndefined();
  });

  it('is refused with RUN_NOT_FOUND when the run is pruned while its caller waits for the answer', async () => {
    const { store, prune } = await racedStore(['late', 'late-named'], ['late', 'late-named']);
    const engine = testEngine({ workflows: [wf], store, lease: { adopt: false } });
    engines.push(engine);
    for (const [id, signalId] of [
      ['late', undefined],
      ['late-named', 'approve'],
    ] as const) {
      const options = signalId === undefined ? { timeoutMs: TIMEOUT } : { timeoutMs: TIMEOUT, signalId };
      const sending = settle(engine.send(id, { type: 'go' }, options));
      // Posted (the run was still stored), then pruned with its inbox row before any owner answered.
      await new Promise((resolve) => setTimeout(resolve, 30));
      await prune();
      expect(await store.getRun(id)).toBeUndefined();
      const sent = await sending;
      expect(sent, id).toMatchObject({ code: 'RUN_NOT_FOUND' });
      expect(sent.ms, id).toBeLessThan(TIMEOUT / 2);
    }
  });

  it('is answered 404 RUN_NOT_FOUND by the API, not 202 queued', async () => {
    const { store } = await racedStore(['gone']);
    const { app, close } = createServeApp({
      store,
      workflows: new Map<string, AnyWorkflowDefinition>([[wf.id, wf]]),
      registry: new Registry(),
      assets: new Map(),
      token: 't0ken',
      pollMs: 10,
      signalTimeoutMs: TIMEOUT,
    });
    try {
      const response = await app.request('/api/runs/gone/send', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t0ken' },
        body: JSON.stringify({ event: { type: 'go' } }),
      });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ applied: false, code: 'RUN_NOT_FOUND' });
    } finally {
      close();
    }
  });
});
