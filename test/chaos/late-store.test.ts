// Chaos: two replicas passivating on one store whose calls reach it late and answer late, at random (a busy pool, a
// slow network): writes, releases, acquires, renewals and inbox reads of different connections land in orders an idle
// test never sees. It found a passivated run's lease release overtaking its last checkpoint write (another replica
// then took the run from its earlier state and called the agent of the lost step again). Every run must end done with
// the right output, no idempotency key called twice. Short in `npm test`; `npm run test:chaos` (CHAOS=long) runs more.
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
import { LONG, sleep } from '../support/chaos.js';
import { testEngine } from '../support/engine.js';
import { lateStore } from '../support/late-store.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

const SIZE = LONG ? { runs: 200, share: 0.3, maxMs: 400 } : { runs: 60, share: 0.3, maxMs: 300 };
/** Woken every way a passivated run is: its event, a human's decision, a backoff's deadline. */
const mixed = workflow('late-mixed')
  .step('plan')
  .waitFor('approve', { event: 'approved', timeoutMs: 600_000 })
  .step('review', { escalate: { to: 'human', timeoutMs: 600_000 } })
  .step('call', { retry: { attempts: 2, backoff: 'fixed', initialMs: 1_500, jitter: 0 } })
  .build();

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'flowstate-late-store-'));
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['sqlite', async () => join(dir, 'late.db'), sqliteStore],
  ['postgres', async () => createDatabase(pg, 'late'), (url: string): WorkflowStore => postgresStore(url)],
])('two passivating replicas on a %s store that answers late', (_kind, target, open) => {
  it(`finish ${SIZE.runs} runs woken by events, decisions and timers once each, no key called twice`, async () => {
    const where = await target();
    const calls = new Map<string, string[]>();
    const agentsOf = (engine: string) => {
      const agent = (name: string) => (_input: unknown, ctx: AgentContext) => {
        calls.set(ctx.idempotencyKey, [...(calls.get(ctx.idempotencyKey) ?? []), engine]);
        if (name !== 'plan' && ctx.attempt === 1) throw new Error(`${name}: first attempt fails`);
        return name;
      };
      return { plan: agent('plan'), review: agent('review'), call: agent('call') };
    };
    const replica = (owner: string) =>
      testEngine({
        agents: agentsOf(owner),
        workflows: [mixed],
        store: lateStore(open(where), SIZE),
        lease: { owner, ttlMs: 5_000 },
        inbox: { pollMs: 50 },
        passivate: { afterMs: 100, wakeAheadMs: 300, pollMs: 100 },
      });
    const engines = [replica('a'), replica('b')];
    const pick = () => engines[Math.floor(Math.random() * engines.length)] as (typeof engines)[number];
    /** Sends through a random replica until a waiting step takes it, or the step after it ran (a lost answer). */
    const until = async (send: () => Promise<boolean>, next: string) => {
      for (let i = 0; i < 400; i++) {
        if (await send().catch(() => false)) return true;
        if (calls.has(next)) return true;
        await sleep(25 + Math.random() * 50);
      }
      return false;
    };
    for (let i = 0; i < SIZE.runs; i++) pick().start(mixed, {}, { id: `m${i}` });
    const taken = await Promise.all(
      Array.from({ length: SIZE.runs }, async (_, i) => {
        await sleep(Math.random() * 1_500);
        const event = await until(() => pick().send(`m${i}`, { type: 'approved', n: i }), `m${i}:review:1`);
        await sleep(Math.random() * 1_000);
        const decision = await until(
          () =>
            pick()
              .resolveEscalation(`m${i}`, 'review', { action: 'skip', value: `ok${i}` })
              .then(() => true),
          `m${i}:call:1`,
        );
        return event && decision;
      }),
    );
    expect(taken).toEqual(Array(SIZE.runs).fill(true));
    const end = Date.now() + 60_000;
    let done = 0;
    while (Date.now() < end) {
      done = (await engines[0]?.list({ status: 'done', limit: SIZE.runs }))?.length ?? 0;
      if (done === SIZE.runs) break;
      await sleep(200);
    }
    expect(done).toBe(SIZE.runs);
    for (let i = 0; i < SIZE.runs; i++) {
      expect((await engines[0]?.get(`m${i}`))?.output).toEqual({
        plan: 'plan',
        approve: { n: i },
        review: `ok${i}`,
        call: 'call',
      });
    }
    expect([...calls].filter(([, by]) => by.length > 1)).toEqual([]);
    expect(calls.size).toBe(SIZE.runs * 4);
    for (const e of engines) await e.close();
  }, 180_000);
});
