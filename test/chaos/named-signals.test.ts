// Chaos: named signals (`signalId`) sent to runs of three passivating replicas on a store whose calls answer late at
// random, three copies of each at once through random replicas, each retried (under its name) until one answers, and
// replicas killed at random (their store calls never answer again) while others join. Each run has three waits for
// one event type and gets two names: it must end at its third wait (each name applied once, none twice), every
// answer must be `true` (applied), and the agent after the third wait never called. It found a name sent twice at
// once applied twice, and an answer read late turned into a refusal. Short in `npm test`; CHAOS=long runs more.
import { describe, expect, it } from 'vitest';
import { type Engine, workflow } from '../../src/index.js';
import { chaosFixture, LONG, sleep, storeTargets } from '../support/chaos.js';
import { testEngine } from '../support/engine.js';
import { lateStore } from '../support/late-store.js';
import { killable } from '../support/named-signals.js';

const RUNS = LONG ? 60 : 15;
const thrice = workflow('named-chaos')
  .waitFor('first', { event: 'go', timeoutMs: 600_000 })
  .waitFor('second', { event: 'go', timeoutMs: 600_000 })
  .waitFor('third', { event: 'go', timeoutMs: 600_000 })
  .step('after')
  .build();

const fixture = chaosFixture('named-chaos');

describe.each(storeTargets(fixture, 'named'))(
  'named signals on a %s store that answers late, replicas killed',
  (_kind, target, open) => {
    it(`apply each of ${RUNS * 2} names once, whatever the copies and retries`, async () => {
      const where = await target();
      const calls: string[] = [];
      const replicas: Array<{ engine: Engine; state: { dead: boolean } }> = [];
      let joined = 0;
      const join = () => {
        const { store, state } = killable(lateStore(open(where), { share: 0.3, maxMs: 150 }));
        const engine = testEngine({
          agents: { after: (_: unknown, ctx: { idempotencyKey: string }) => calls.push(ctx.idempotencyKey) },
          workflows: [thrice],
          store,
          lease: { owner: `r${joined++}`, ttlMs: 1_500 },
          inbox: { pollMs: 50 },
          passivate: { afterMs: 100, wakeAheadMs: 300, pollMs: 100 },
        });
        replicas.push({ engine, state });
      };
      for (let i = 0; i < 3; i++) join();
      const first = replicas[0] as (typeof replicas)[number];
      for (let i = 0; i < RUNS; i++) first.engine.start(thrice, {}, { id: `n${i}` });
      await first.engine.flush();
      let stop = false;
      const killer = (async () => {
        await sleep(500);
        while (!stop) {
          await sleep(300 + Math.random() * 500);
          // Killed: its store calls never answer again; another replica joins.
          const [victim] = replicas.splice(Math.floor(Math.random() * replicas.length), 1);
          if (victim) victim.state.dead = true;
          join();
        }
      })();
      const pick = () =>
        (replicas[Math.floor(Math.random() * replicas.length)] as (typeof replicas)[number]).engine;
      const answers: string[] = [];
      const sendUntilAnswered = async (id: string, name: string) => {
        for (let round = 0; round < 200; round++) {
          const copies = await Promise.all(
            [0, 1, 2].map(() =>
              Promise.race([
                pick().send(id, { type: 'go' }, { signalId: name, timeoutMs: 200 + Math.random() * 400 }),
                // A copy sent to a replica killed meanwhile never answers: its caller gives up on it.
                sleep(3_000).then(() => 'lost' as const),
              ]).then(
                (taken) => String(taken),
                (error: { code?: string }) => String(error.code),
              ),
            ),
          );
          answers.push(
            ...copies.filter((a) => a !== 'lost' && a !== 'SIGNAL_TIMEOUT').map((a) => `${id}/${name} ${a}`),
          );
          if (copies.includes('true')) return;
          await sleep(Math.random() * 100);
        }
      };
      await Promise.all(
        Array.from({ length: RUNS }, async (_, i) => {
          await sleep(Math.random() * 800);
          await sendUntilAnswered(`n${i}`, 'g1');
          await sendUntilAnswered(`n${i}`, 'g2');
          // Sent again once answered: answered alike, applied no more.
          await sendUntilAnswered(`n${i}`, 'g1');
        }),
      );
      stop = true;
      await killer;
      const check = open(where);
      const states: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        const run = await check.getRun(`n${i}`);
        states.push(String((JSON.parse(run?.snapshot || '{}') as { value?: unknown }).value));
      }
      await check.close();
      for (const r of replicas) await r.engine.close().catch(() => {});
      expect(states).toEqual(Array(RUNS).fill('third'));
      expect(answers.filter((a) => !a.endsWith(' true'))).toEqual([]);
      expect(calls).toEqual([]);
    }, 180_000);
  },
);
