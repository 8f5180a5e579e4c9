// Chaos: two replicas passivating on one store whose calls reach it late and answer late, at random (a busy pool, a
// slow network): writes, releases, acquires, renewals and inbox reads of different connections land in orders an idle
// test never sees. It found a passivated run's lease release overtaking its last checkpoint write (another replica
// then took the run from its earlier state and called the agent of the lost step again). Every run must end done with
// the right output, no idempotency key called twice. Short in `npm test`; `npm run test:chaos` (CHAOS=long) runs more.
import { describe, expect, it } from 'vitest';
import { chaosFixture, LONG, sleep, storeTargets } from '../support/chaos.js';
import { testEngine } from '../support/engine.js';
import { lateStore } from '../support/late-store.js';
import { mixedAgents, mixedWorkflow, signalAll } from '../support/mixed-replicas.js';

const SIZE = LONG ? { runs: 200, share: 0.3, maxMs: 400 } : { runs: 60, share: 0.3, maxMs: 300 };
const mixed = mixedWorkflow('late-mixed');

const fixture = chaosFixture('late-store');

describe.each(storeTargets(fixture, 'late'))(
  'two passivating replicas on a %s store that answers late',
  (_kind, target, open) => {
    it(`finish ${SIZE.runs} runs woken by events, decisions and timers once each, no key called twice`, async () => {
      const where = await target();
      const calls = new Map<string, string[]>();
      const replica = (owner: string) =>
        testEngine({
          agents: mixedAgents(calls, owner),
          workflows: [mixed],
          store: lateStore(open(where), SIZE),
          lease: { owner, ttlMs: 5_000 },
          inbox: { pollMs: 50 },
          passivate: { afterMs: 100, wakeAheadMs: 300, pollMs: 100 },
        });
      const engines = [replica('a'), replica('b')];
      const pick = () => engines[Math.floor(Math.random() * engines.length)] as (typeof engines)[number];
      for (let i = 0; i < SIZE.runs; i++) pick().start(mixed, {}, { id: `m${i}` });
      const taken = await signalAll(engines, SIZE.runs, calls);
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
  },
);
