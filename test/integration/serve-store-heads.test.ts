// `store.listRunHeads(filter)`: `listRuns` without the runs' inputs and outputs, and by ids: what `flowstate serve`
// polls to learn which runs changed, at a cost that does not grow with the runs' payloads. The same on all three
// stores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore, sqliteStore } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { RunHeadFilter, StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

let pgServer: PostgresServer;
let dir: string;
beforeAll(async () => {
  pgServer = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'flowstate-heads-'));
}, 60_000);
afterAll(async () => {
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const stores: Array<[string, () => Promise<WorkflowStore>]> = [
  ['memory', async () => memoryStore()],
  ['sqlite', async () => sqliteStore(join(dir, `${Math.random().toString(36).slice(2)}.db`))],
  [
    'postgres',
    async () => postgresStore(await createDatabase(pgServer, `h${Math.random().toString(36).slice(2, 10)}`)),
  ],
];

const run = (id: string, i: number, over: Partial<StoredRun> = {}): StoredRun => ({
  id,
  workflow: i % 2 === 0 ? 'even' : 'odd',
  version: 'v1',
  status: 'running',
  input: { big: 'x'.repeat(10_000) },
  snapshot: '{"value":"x"}',
  createdAt: 1_000 + i,
  updatedAt: 2_000 + i,
  ...over,
});

describe.each(stores)('listRunHeads on the %s store', (_name, open) => {
  it('lists runs as listRuns does, without input, output or snapshot; by ids too', async () => {
    const store = await open();
    try {
      const runs = [
        run('a', 0),
        run('b', 1, { status: 'waiting' }),
        run('c', 2),
        run('d, with a comma', 3, { status: 'waiting' }),
      ];
      await store.write({
        claims: runs.map((r) => ({ run: r, owner: 'o', leaseUntil: 9_999 })),
        runs: [],
        journal: [],
      });
      // `c` ends with an output and an error-free checkpoint; `a` fails.
      await store.write({
        runs: [
          {
            run: {
              ...runs[2],
              status: 'done',
              output: { big: 'y'.repeat(10_000) },
              updatedAt: 5_000,
            } as StoredRun,
            timers: [],
            lease: { owner: 'o', epoch: 1 },
          },
          {
            run: {
              ...runs[0],
              status: 'failed',
              error: { name: 'Error', message: 'boom', code: 'STEP_FAILED' },
              updatedAt: 5_001,
            } as StoredRun,
            timers: [],
            lease: { owner: 'o', epoch: 1 },
          },
        ],
        journal: [],
      });
      const listHeads = (filter?: RunHeadFilter) =>
        (store.listRunHeads as NonNullable<WorkflowStore['listRunHeads']>)(filter);
      const heads = await listHeads();
      expect(heads.map((h) => h.id)).toEqual(['a', 'b', 'c', 'd, with a comma']);
      for (const h of heads) {
        expect(h).not.toHaveProperty('input');
        expect(h).not.toHaveProperty('output');
        expect(h).not.toHaveProperty('snapshot');
      }
      // The rest of the record, as listRuns has it.
      const records = await store.listRuns();
      expect(heads).toEqual(records.map(({ input: _i, output: _o, ...head }) => head));
      expect(heads[0]).toMatchObject({ status: 'failed', error: { message: 'boom', code: 'STEP_FAILED' } });
      expect(heads[2]).toMatchObject({ status: 'done', updatedAt: 5_000, owner: 'o', epoch: 1 });

      // The filter applies as for listRuns.
      const ids = async (filter: RunHeadFilter) => (await listHeads(filter)).map((h) => h.id);
      expect(await ids({ status: ['running', 'waiting'], order: 'newest' })).toEqual([
        'd, with a comma',
        'b',
      ]);
      expect(await ids({ workflow: 'even', limit: 1 })).toEqual(['a']);
      expect(await ids({ offset: 1, limit: 2 })).toEqual(['b', 'c']);
      // By ids: those stored, in the filter's order, with the rest of the filter.
      expect(await ids({ ids: ['d, with a comma', 'nope', 'a', 'b'] })).toEqual([
        'a',
        'b',
        'd, with a comma',
      ]);
      expect(await ids({ ids: ['a', 'b', 'c'], status: 'waiting' })).toEqual(['b']);
      expect(await ids({ ids: ['c', 'a'], order: 'newest', limit: 1 })).toEqual(['c']);
      expect(await ids({ ids: [] })).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
