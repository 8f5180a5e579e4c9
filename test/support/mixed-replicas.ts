import { type AgentContext, type Engine, workflow } from '../../src/index.js';

/**
 * A run woken every way a passivated run is: its event (`approved`), a human's decision (`review` escalates after its
 * first attempt fails) and a backoff's deadline (`call` fails once, retried after `backoffMs`).
 */
export function mixedWorkflow(id: string, backoffMs = 1_500) {
  return workflow(id)
    .step('plan')
    .waitFor('approve', { event: 'approved', timeoutMs: 600_000 })
    .step('review', { escalate: { to: 'human', timeoutMs: 600_000 } })
    .step('call', { retry: { attempts: 2, backoff: 'fixed', initialMs: backoffMs, jitter: 0 } })
    .build();
}

/**
 * The agents of `engine` for {@link mixedWorkflow}, recording in `calls` which engines called each key (and telling
 * `onCall`, for a timeline).
 */
export function mixedAgents(
  calls: Map<string, string[]>,
  engine: string,
  onCall?: (key: string, engine: string) => void,
) {
  const agent = (name: string) => (_input: unknown, ctx: AgentContext) => {
    calls.set(ctx.idempotencyKey, [...(calls.get(ctx.idempotencyKey) ?? []), engine]);
    onCall?.(ctx.idempotencyKey, engine);
    if (name !== 'plan' && ctx.attempt === 1) throw new Error(`${name}: first attempt fails`);
    return name;
  };
  return { plan: agent('plan'), review: agent('review'), call: agent('call') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends each run `m<i>` its event, then its decision, each through a random replica, at random times; resolves to
 * whether each run took both. A send is repeated until a waiting step takes it (the run may not be there yet); a
 * send whose answer was lost (it timed out under load) may still have been applied: then the agent of the run's next
 * step was called (a key in `calls`), and later sends would find nothing waiting.
 */
export function signalAll(engines: readonly Engine[], runs: number, calls: ReadonlyMap<string, unknown>) {
  const pick = () => engines[Math.floor(Math.random() * engines.length)] as Engine;
  const until = async (send: () => Promise<boolean>, next: string) => {
    for (let i = 0; i < 400; i++) {
      if (await send().catch(() => false)) return true;
      if (calls.has(next)) return true;
      await sleep(25 + Math.random() * 50);
    }
    return false;
  };
  return Promise.all(
    Array.from({ length: runs }, async (_, i) => {
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
}
