import { describe, expect, it } from 'vitest';
import { fromPromise } from 'xstate';
import type { AgentContext, AgentRegistry } from '../../src/index.js';
import { workflow } from '../../src/index.js';
import { callAgent } from '../../src/machine/call-agent.js';
import { testEngine } from '../support/engine.js';

const ctx = { signal: new AbortController().signal } as AgentContext;

// callAgent is not an async function (an async wrapper costs a promise and two microtasks per attempt): every way an
// agent can answer or fail must still come back as a promise, never as a synchronous throw.
describe('callAgent', () => {
  it("returns a function agent's own promise, not a wrapper", () => {
    const answer = Promise.resolve(42);
    expect(callAgent({ a: () => answer }, 'a', {}, ctx)).toBe(answer);
  });

  it('turns a plain value, a foreign thenable and an actor logic into a promise of their value', async () => {
    const thenable = { then: (resolve: (v: unknown) => void) => resolve('later') };
    const agents: AgentRegistry = {
      plain: () => 'now',
      thenable: () => thenable as unknown as Promise<unknown>,
      actor: fromPromise(async () => 'actor'),
    };
    await expect(callAgent(agents, 'plain', {}, ctx)).resolves.toBe('now');
    await expect(callAgent(agents, 'thenable', {}, ctx)).resolves.toBe('later');
    await expect(callAgent(agents, 'actor', {}, ctx)).resolves.toBe('actor');
  });

  it("turns a transport's plain value or synchronous throw into a promise too", async () => {
    const route = (call: () => unknown) =>
      ({ queue: 'q', transport: { call } }) as unknown as Parameters<typeof callAgent>[4];
    await expect(
      callAgent(
        {},
        'remote',
        {},
        ctx,
        route(() => 'plain'),
      ),
    ).resolves.toBe('plain');
    const down = new Error('queue down');
    await expect(
      callAgent(
        {},
        'remote',
        {},
        ctx,
        route(() => {
          throw down;
        }),
      ),
    ).rejects.toBe(down);
  });

  it('rejects, never throws, for a synchronous throw or an unknown agent', async () => {
    const boom = new Error('boom');
    const agents: AgentRegistry = {
      throws: () => {
        throw boom;
      },
    };
    const thrown = callAgent(agents, 'throws', {}, ctx);
    await expect(thrown).rejects.toBe(boom);
    const missing = callAgent(agents, 'nobody', {}, ctx);
    await expect(missing).rejects.toMatchObject({ retryable: false, message: /No agent named 'nobody'/ });
    // Not even an inherited name counts as an agent.
    await expect(callAgent(agents, 'toString', {}, ctx)).rejects.toThrow(/No agent named 'toString'/);
  });

  it('retries a step whose agent throws synchronously, as one that rejects', async () => {
    let calls = 0;
    const engine = testEngine({
      agents: {
        flaky: () => {
          calls++;
          if (calls === 1) throw new Error('sync failure');
          return 'second';
        },
      },
    });
    const wf = workflow('sync-throw')
      .step('s', { agent: 'flaky', retry: { attempts: 2, initialMs: 1, jitter: 0 } })
      .build();
    await expect(engine.start(wf, {}).result).resolves.toEqual({ s: 'second' });
    expect(calls).toBe(2);
  });
});

// Found by a new user: an agent that was no function ended the process (XState threw outside any promise).
describe('agents that are not agents', () => {
  it('are refused by createEngine, each named', () => {
    expect(() =>
      testEngine({ agents: { a: 5, b: null, c: async () => 1 } as unknown as AgentRegistry }),
    ).toThrow(/'a' \(number\), 'b' \(null\) are not an agent/);
  });

  it('reject the step that calls one given by hand, not retried', async () => {
    const agents = { plain: { not: 'logic' } } as unknown as AgentRegistry;
    await expect(callAgent(agents, 'plain', 1, ctx)).rejects.toMatchObject({
      message: "Agent 'plain' is not a function nor XState actor logic",
      retryable: false,
    });
  });
});
