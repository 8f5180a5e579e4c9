import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentContext,
  postgresStore,
  sqliteStore,
  type WorkflowStore,
  workflow,
} from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

const RUNS = 30;
const BACKOFF_MS = 1_500;
const flaky = workflow('rep-flaky')
  .step('call', { retry: { attempts: 2, backoff: 'fixed', initialMs: BACKOFF_MS, jitter: 0 } })
  .build();

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'flowstate-passivate-rep-'));
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['sqlite', async () => join(dir, `${Math.random().toString(36).slice(2)}.db`), sqliteStore],
  [
    'postgres',
    async () => createDatabase(pg, `rep${Math.random().toString(36).slice(2, 8)}`),
    (url: string): WorkflowStore => postgresStore(url),
  ],
])('two replicas passivating on one %s store', (_kind, target, open) => {
  it('exactly one replica wakes each due run; every retry runs once, on its deadline', async () => {
    const where = await target();
    const calls = new Map<string, { engine: string; t: number }[]>();
    const agentsOf = (engine: string) => ({
      call: (_input: unknown, ctx: AgentContext) => {
        calls.set(ctx.idempotencyKey, [...(calls.get(ctx.idempotencyKey) ?? []), { engine, t: Date.now() }]);
        if (ctx.attempt === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    });
    const replica = (owner: string) =>
      testEngine({
        agents: agentsOf(owner),
        workflows: [flaky],
        store: open(where),
        lease: { owner, ttlMs: 2_000 },
        inbox: { pollMs: 50 },
        passivate: { afterMs: 100, wakeAheadMs: 300, pollMs: 100 },
      });
    const a = replica('a');
    const b = replica('b');
    for (let i = 0; i < RUNS; i++) a.start(flaky, {}, { id: `f${i}` });
    // Passivated by a, then due for both: both schedulers read them.
    const parked = Date.now() + 1_000;
    while (Date.now() < parked && a.active.size > 0) await new Promise((r) => setTimeout(r, 20));
    expect(a.active.size).toBe(0);
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const done = await a.list({ status: 'done', limit: RUNS });
      if (done.length === RUNS) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await a.list({ status: 'done', limit: RUNS })).toHaveLength(RUNS);
    const woken = { a: 0, b: 0 };
    for (let i = 0; i < RUNS; i++) {
      const first = calls.get(`f${i}:call:1`) ?? [];
      const retry = calls.get(`f${i}:call:2`) ?? [];
      expect(first).toHaveLength(1);
      expect(retry).toHaveLength(1);
      const late = (retry[0]?.t ?? 0) - (first[0]?.t ?? 0) - BACKOFF_MS;
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(300);
      woken[retry[0]?.engine as 'a' | 'b']++;
    }
    expect(woken.a + woken.b).toBe(RUNS);
    await a.close();
    await b.close();
  });
});
