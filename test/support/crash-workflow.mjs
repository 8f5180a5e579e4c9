// The workflow the crash test runs, and the outputs it must produce. Plain ESM on the built package: the crash
// worker is a real separate process, as in production.
import { appendFileSync } from 'node:fs';
import { workflow } from '../../dist/bundle/index.js';
import { sleep } from './abortable.mjs';

export const BACKOFF_MS = 40;
export const ESCALATION_MS = 150;

/** 10 agent calls per run when all goes well: a sequence, a retry, parallel regions, a map, a branch, an escalation. */
export const crashWorkflow = workflow('crash')
  .step('s1', { agent: 'plain', input: 'input.n' })
  .step('s2', {
    agent: 'flaky',
    input: 'input.n',
    retry: { attempts: 3, backoff: 'fixed', initialMs: BACKOFF_MS, jitter: 0 },
  })
  .parallel('p', {
    left: (r) =>
      r.step('l1', { agent: 'plain', input: 'input.n' }).step('l2', { agent: 'plain', input: 'results.l1' }),
    right: (r) => r.step('r1', { agent: 'plain', input: 'input.n' }),
  })
  .map('m', { items: 'input.items', step: { agent: 'plain' }, concurrency: 2 })
  .branch('br', [
    {
      when: 'input.escalate',
      then: (b) =>
        b.step('esc', {
          agent: 'stuck',
          escalate: { to: 'human', timeoutMs: ESCALATION_MS, onTimeout: 'skip' },
        }),
    },
    { otherwise: (b) => b.step('noesc', { agent: 'plain', input: 'input.n' }) },
  ])
  .step('final', { agent: 'plain', input: 'results.l2' })
  .build();

/** Items of each run's map: 3, or `CRASH_MAP_ITEMS` (the worker inherits it), for crashes in the middle of maps. */
const mapItems = () => Number(process.env.CRASH_MAP_ITEMS ?? 3);
const itemsOf = (i) => Array.from({ length: mapItems() }, (_, j) => i + j);

export const inputOf = (i) => ({ n: i, items: itemsOf(i), escalate: i % 5 === 0 });

const p = (x) => `p(${JSON.stringify(x)})`;
export const expectedOutput = (i) => ({
  s1: p(i),
  s2: `f(${i})`,
  l1: p(i),
  l2: p(p(i)),
  r1: p(i),
  m: itemsOf(i).map(p),
  ...(i % 5 === 0 ? { esc: null } : { noesc: p(i) }),
  final: p(p(p(i))),
});

/**
 * The agents of the crash and chaos workers. Every call (and every planned failure) goes to the ledger first, one
 * line with O_APPEND (lines of several processes never mix), so the parent can count calls per idempotency key.
 */
export function ledgerAgents(ledger) {
  const pid = process.pid;
  const log = (key, event) =>
    appendFileSync(ledger, `${JSON.stringify({ key, event, pid, t: Date.now() })}\n`);
  const jitter = (key) => [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 997, 7) % 20;
  return {
    plain: async (input, ctx) => {
      log(ctx.idempotencyKey, 'call');
      await sleep(5 + jitter(ctx.idempotencyKey), ctx.signal);
      return p(input);
    },
    flaky: async (input, ctx) => {
      log(ctx.idempotencyKey, 'call');
      await sleep(5, ctx.signal);
      if (ctx.attempt === 1) {
        log(ctx.idempotencyKey, 'fail');
        throw new Error('planned first failure');
      }
      return `f(${input})`;
    },
    stuck: async (_input, ctx) => {
      log(ctx.idempotencyKey, 'call');
      log(ctx.idempotencyKey, 'fail');
      throw new Error('needs a human');
    },
  };
}
