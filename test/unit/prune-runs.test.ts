import { describe, expect, it } from 'vitest';
import { endedBefore } from '../../src/cli/commands/runs-prune.js';
import { UsageError } from '../../src/cli/paths-command.js';
import { ConfigurationError } from '../../src/model/errors.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { pruneRuns } from '../../src/persistence/prune.js';
import type { WorkflowStore } from '../../src/persistence/types.js';

/** A memory store with `n` runs that ended at 100 (leases over), and one waiting. */
async function storeWith(n: number): Promise<WorkflowStore> {
  const store = memoryStore();
  const run = (id: string, status: 'running' | 'done' | 'waiting') => ({
    id,
    workflow: 'wf',
    version: 'v',
    status,
    input: null,
    snapshot: '',
    createdAt: 1,
    updatedAt: 100,
  });
  const ids = [...Array.from({ length: n }, (_, i) => `r${i}`), 'w'];
  await store.write({
    claims: ids.map((id) => ({ run: run(id, 'running'), owner: 'o', leaseUntil: 1 })),
    runs: [],
    journal: [],
  });
  await store.write({
    runs: ids.map((id) => ({
      run: run(id, id === 'w' ? 'waiting' : 'done'),
      timers: [],
      lease: { owner: 'o', epoch: 1 },
    })),
    journal: [],
  });
  return store;
}

describe('pruneRuns', () => {
  it('prunes in batches until none is left, or `limit` runs went; a dry run only counts', async () => {
    const store = await storeWith(7);
    expect(await pruneRuns(store, { endedBefore: 1_000, dryRun: true })).toEqual({ runs: 7, batches: 0 });
    expect(await pruneRuns(store, { endedBefore: 1_000, batchSize: 2, limit: 5 })).toEqual({
      runs: 5,
      batches: 3,
    });
    // 2 left: one batch of 3 asked finds 2, and says none is left.
    expect(await pruneRuns(store, { endedBefore: 1_000, batchSize: 3 })).toEqual({ runs: 2, batches: 1 });
    expect(await pruneRuns(store, { endedBefore: 1_000 })).toEqual({ runs: 0, batches: 1 });
    expect((await store.listRuns()).map((r) => r.id)).toEqual(['w']);
  });

  it('refuses a store without pruneEnded, and bad options, with a ConfigurationError', async () => {
    const { pruneEnded: _, ...custom } = await storeWith(1);
    await expect(pruneRuns(custom, { endedBefore: 1_000 })).rejects.toThrow(
      /does not support pruning ended runs.*nothing was deleted/,
    );
    await expect(pruneRuns(custom, { endedBefore: 1_000 })).rejects.toBeInstanceOf(ConfigurationError);
    const store = await storeWith(1);
    await expect(pruneRuns(store, { endedBefore: 1_000, limit: 0 })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(pruneRuns(store, { endedBefore: 1_000, batchSize: 20_000 })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(pruneRuns(store, { endedBefore: Number.POSITIVE_INFINITY })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    expect(await store.listRuns()).toHaveLength(2);
  });
});

describe('--ended-before', () => {
  const now = Date.parse('2026-06-15T12:00:00Z');
  it.each([
    ['30d', now - 30 * 86_400_000],
    ['12h', now - 12 * 3_600_000],
    ['90m', now - 90 * 60_000],
    ['45s', now - 45_000],
    ['2w', now - 14 * 86_400_000],
    ['1.5d', now - 36 * 3_600_000],
    ['500ms', now - 500],
    ['0s', now],
    ['2026-01-31', Date.parse('2026-01-31T00:00:00Z')],
    ['2024-02-29', Date.parse('2024-02-29T00:00:00Z')],
    ['2026-06-15T11:00:00Z', now - 3_600_000],
  ])('reads %s', (value, at) => {
    expect(endedBefore(value, now)).toBe(at);
  });

  it.each([
    [undefined, 'missing --ended-before'],
    ['-5d', 'is negative'],
    ['30', 'cannot read'],
    ['d', 'cannot read'],
    ['1e3d', 'cannot read'],
    ['2026-02-30x', 'cannot read'],
    ['2026-02-30', 'is not a valid date'],
    ['2026-13-01', 'is not a valid date'],
    ['2026-01-31T25:00:00Z', 'is not a valid date'],
    ['2026-06-16', 'is in the future'],
    ['999999999d', 'reaches before 1970'],
  ])('refuses %s', (value, message) => {
    expect(() => endedBefore(value, now)).toThrow(UsageError);
    expect(() => endedBefore(value, now)).toThrow(message);
  });
});
