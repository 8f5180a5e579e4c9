// The store contract of `pruneEnded`, run by test/integration/store-contract.test.ts on every store (memory, SQLite,
// PostgreSQL): which runs go, that everything of theirs goes with them, and what is never touched.
import { expect, it } from 'vitest';
import { ConfigurationError, FlowstateError } from '../../src/model/errors.js';
import type { RunStatus, StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { keyedSignalId } from '../../src/runtime/inbox.js';

type Open = () => Promise<{ store: WorkflowStore }>;

const lease = { owner: 'o', epoch: 1 };
/** Leases of the seeded runs end here; prunes below look at `NOW`, after it. */
const LEASE_UNTIL = 10_000;
const NOW = 20_000;
/** The cut: runs that ended (were last written) before it go. */
const CUT = 1_000;

const stored = (id: string, status: RunStatus, updatedAt: number): StoredRun => ({
  id,
  workflow: 'wf',
  version: 'v1',
  status,
  input: { id },
  snapshot: '{"value":"x"}',
  createdAt: 1,
  updatedAt,
});

/**
 * A run as an engine leaves it: claimed, a journal entry (and a map item's), a timer, a plain signal and a named one
 * answered under its lease, then its last checkpoint in `status` at `updatedAt`; one more plain signal left pending.
 */
async function seedRun(
  store: WorkflowStore,
  id: string,
  status: RunStatus,
  updatedAt: number,
  leaseUntil = LEASE_UNTIL,
) {
  const running = stored(id, 'running', 1);
  await store.write({ claims: [{ run: running, owner: 'o', leaseUntil }], runs: [], journal: [] });
  for (const [suffix, signal] of [
    ['plain', `${id}-m1`],
    ['named', keyedSignalId(id, 'approve')],
  ] as const)
    await store.post({
      id: signal,
      runId: id,
      kind: 'event',
      body: `{"n":"${suffix}"}`,
      state: 'pending',
      createdAt: 2,
    });
  await store.post({ id: `${id}-m2`, runId: id, kind: 'cancel', body: '{}', state: 'pending', createdAt: 3 });
  await store.write({
    runs: [
      {
        run: stored(id, status, updatedAt),
        timers: [{ runId: id, stepPath: 'wait', kind: 'wait', deadline: 99_999 }],
        lease,
      },
    ],
    journal: [
      { key: `${id}:s:1`, runId: id, stepPath: 's', attempt: 1, output: '1', createdAt: 2, lease },
      { key: `${id}:m[0]:1`, runId: id, stepPath: 'm[0]', attempt: 1, output: '2', createdAt: 2, lease },
    ],
    inbox: [
      { id: `${id}-m1`, runId: id, state: 'applied', result: 'true', lease },
      { id: keyedSignalId(id, 'approve'), runId: id, state: 'applied', result: 'true', lease },
    ],
  });
}

/** Whether every row of a run is there (`'all'`), none is (`'none'`), or some are (`'partial'`: a bug). */
async function rowsOf(store: WorkflowStore, id: string): Promise<'all' | 'none' | 'partial'> {
  const found = [
    (await store.getRun(id)) !== undefined,
    (await store.getJournal(`${id}:s:1`)) !== undefined,
    (await store.getJournal(`${id}:m[0]:1`)) !== undefined,
    (await store.listTimers(id)).length > 0,
    (await store.getMessage(`${id}-m1`)) !== undefined,
    (await store.getMessage(`${id}-m2`)) !== undefined,
    (await store.getMessage(keyedSignalId(id, 'approve'))) !== undefined,
  ];
  return found.every(Boolean) ? 'all' : found.some(Boolean) ? 'partial' : 'none';
}

/** Declares the pruning cases for the store `open` makes (inside the caller's `describe`). */
export function pruneContract(open: Open): void {
  it('prunes ended runs older than the cut with everything of theirs; keeps unfinished, newer and leased runs', async () => {
    const { store } = await open();
    if (!store.pruneEnded) throw new Error('every built-in store prunes');
    const ended = ['done', 'failed', 'cancelled', 'compensated'] as const;
    for (const [i, status] of ended.entries()) await seedRun(store, `old-${status}`, status, 100 + i);
    await seedRun(store, 'waiting', 'waiting', 100);
    await seedRun(store, 'running', 'running', 100);
    await seedRun(store, 'new-done', 'done', CUT);
    await seedRun(store, 'leased-done', 'done', 100, NOW + 1);

    const dry = await store.pruneEnded({ endedBefore: CUT, now: NOW, dryRun: true });
    expect(dry).toEqual({ runs: 4 });
    expect(await rowsOf(store, 'old-done')).toBe('all');

    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW })).toEqual({ runs: 4 });
    for (const status of ended) expect(await rowsOf(store, `old-${status}`)).toBe('none');
    for (const id of ['waiting', 'running', 'new-done', 'leased-done'])
      expect(await rowsOf(store, id)).toBe('all');
    // A named signal's kept answer: gone with its pruned run, still found for a kept one.
    expect(await store.getMessage(keyedSignalId('old-done', 'approve'))).toBeUndefined();
    expect(await store.getMessage(keyedSignalId('new-done', 'approve'))).toMatchObject({
      state: 'applied',
      result: 'true',
    });
    // The unfinished run's inbox is whole: its pending signal is still read by its owner.
    expect((await store.pendingFor('o', 10)).map((m) => m.id).sort()).toEqual(['running-m2', 'waiting-m2']);
    expect(await store.listJournal?.('waiting')).toHaveLength(2);

    // A second prune finds nothing; the lease that ended since lets its run go.
    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW })).toEqual({ runs: 0 });
    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW + 1 })).toEqual({ runs: 1 });
    expect((await store.listRuns()).map((r) => r.id).sort()).toEqual(['new-done', 'running', 'waiting']);
    // A pruned id is free: a new run may claim it.
    expect(
      await store.write({
        claims: [{ run: stored('old-done', 'running', 1), owner: 'o', leaseUntil: 1 }],
        runs: [],
        journal: [],
      }),
    ).toBeUndefined();
    expect(await store.getMessage(keyedSignalId('old-done', 'approve'))).toBeUndefined();
    await store.close();
  });

  it('prunes at most `limit` runs a call, oldest end first', async () => {
    const { store } = await open();
    if (!store.pruneEnded) throw new Error('every built-in store prunes');
    for (const i of [5, 3, 1, 4, 2]) await seedRun(store, `r${i}`, 'done', i * 10);
    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW, limit: 2, dryRun: true })).toEqual({
      runs: 2,
    });
    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW, limit: 2 })).toEqual({ runs: 2 });
    expect((await store.listRuns()).map((r) => r.id).sort()).toEqual(['r3', 'r4', 'r5']);
    expect(await store.pruneEnded({ endedBefore: 45, now: NOW, limit: 5 })).toEqual({ runs: 2 });
    expect((await store.listRuns()).map((r) => r.id)).toEqual(['r5']);
    await expect(store.pruneEnded({ endedBefore: CUT, limit: 0 })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(store.pruneEnded({ endedBefore: Number.NaN })).rejects.toBeInstanceOf(ConfigurationError);
    await store.close();
  });

  it('a run that ends while prunes run is deleted whole or kept whole; an unfinished one is never touched', async () => {
    const { store } = await open();
    if (!store.pruneEnded) throw new Error('every built-in store prunes');
    const ids = Array.from({ length: 24 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    for (const id of ids) await seedRun(store, id, 'waiting', 100);
    // Listed while waiting: nothing to prune.
    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW, dryRun: true })).toEqual({ runs: 0 });
    const ending = ids.filter((_, i) => i % 2 === 0);
    const ends = ending.map((id) =>
      store.write({ runs: [{ run: stored(id, 'done', 100), timers: [], lease }], journal: [] }),
    );
    const prunes = Array.from({ length: 8 }, () =>
      store.pruneEnded?.({ endedBefore: CUT, now: NOW, limit: 3 }),
    );
    await Promise.all([...ends, ...prunes]);
    for (const id of ids) {
      const rows = await rowsOf(store, id);
      if (ending.includes(id)) {
        // Its final checkpoint replaced its timers: whole means the rest is there.
        expect(rows === 'none' || (await store.getRun(id))?.status === 'done', id).toBe(true);
        if (rows === 'none') continue;
        expect(await store.getJournal(`${id}:s:1`)).toBeDefined();
        expect(await store.getMessage(keyedSignalId(id, 'approve'))).toBeDefined();
      } else expect(rows, id).toBe('all');
    }
    await store.pruneEnded({ endedBefore: CUT, now: NOW, limit: 100 });
    for (const id of ending) expect(await rowsOf(store, id), id).toBe('none');
    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW })).toEqual({ runs: 0 });
    expect((await store.listRuns()).map((r) => r.id)).toEqual(ids.filter((id) => !ending.includes(id)));
    await store.close();
  });

  it('refuses a signal to a run that is not stored (never was, or pruned): RUN_NOT_FOUND, and no row is left', async () => {
    const { store } = await open();
    if (!store.pruneEnded) throw new Error('every built-in store prunes');
    const post = (id: string, runId: string) =>
      store.post({ id, runId, kind: 'event', body: '{"n":1}', state: 'pending', createdAt: 5 });
    const notFound = async (posting: Promise<unknown>, runId: string) => {
      const error = await posting.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `a post to '${runId}'`).toBeInstanceOf(FlowstateError);
      expect(error).toMatchObject({ code: 'RUN_NOT_FOUND', workflowId: runId });
    };
    await notFound(post('x1', 'never'), 'never');
    expect(await store.getMessage('x1')).toBeUndefined();

    await seedRun(store, 'gone', 'done', 100);
    await seedRun(store, 'kept', 'waiting', 100);
    await seedRun(store, 'ended', 'done', CUT);
    expect(await store.pruneEnded({ endedBefore: CUT, now: NOW })).toEqual({ runs: 1 });
    // Posted by a caller that read the run before the prune, and a named signal sent again after it: both refused,
    // nothing stored (an orphan row would never be read, and its caller would wait for an answer until it times out).
    await notFound(post('x2', 'gone'), 'gone');
    await notFound(post(keyedSignalId('gone', 'approve'), 'gone'), 'gone');
    expect(await store.getMessage('x2')).toBeUndefined();
    expect(await store.getMessage(keyedSignalId('gone', 'approve'))).toBeUndefined();
    // A stored run takes signals as before, unfinished or ended (its caller learns that it ended), once per id.
    expect(await post('x3', 'kept')).toBe(true);
    expect(await post('x3', 'kept')).toBe(false);
    expect(await post('x4', 'ended')).toBe(true);
    expect((await store.pendingFor('o', 10)).map((m) => m.id).sort()).toEqual(['kept-m2', 'x3']);
    // Pruned with its run, a signal's row goes too; a post after that is refused again.
    expect(await store.pruneEnded({ endedBefore: CUT + 1, now: NOW })).toEqual({ runs: 1 });
    expect(await store.getMessage('x4')).toBeUndefined();
    await notFound(post('x4', 'ended'), 'ended');
    expect(await store.getMessage('x4')).toBeUndefined();
    await store.close();
  });
}
