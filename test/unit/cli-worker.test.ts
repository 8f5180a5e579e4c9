import { describe, expect, it } from 'vitest';
import { runWorkerCommand } from '../../src/cli/commands/worker.js';

/** Runs the command and returns its exit code and what it wrote. */
async function run(options: Partial<Parameters<typeof runWorkerCommand>[0]>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runWorkerCommand(
    { redis: undefined, queue: undefined, agents: undefined, concurrency: undefined, ...options },
    { out: (l) => out.push(l), err: (l) => err.push(l) },
  );
  return { code, out, err };
}

describe('flowstate worker: usage', () => {
  const base = { redis: 'redis://127.0.0.1:1', queue: 'q', agents: 'test/support/bullmq-agents.mjs' };

  it.each([
    [{ ...base, redis: undefined }, "'worker' needs --redis <url> (or $FLOWSTATE_REDIS)"],
    // Found by a new user: taken as a host name, then a silent wait.
    [{ ...base, redis: 'http://x' }, '--redis takes a redis:// or rediss:// URL'],
    [{ ...base, queue: undefined }, "'worker' needs --queue <name>"],
    [{ ...base, agents: undefined }, "'worker' needs --agents <module>"],
    [{ ...base, concurrency: '0' }, "--concurrency expects a positive integer, got '0'"],
    [{ ...base, lock: 'soon' }, "--lock expects a number of milliseconds from 100, got 'soon'"],
    [{ ...base, agents: 'template:nope' }, expect.stringMatching(/^unknown template 'nope' \(templates: /)],
  ])('refuses %j with exit 2', async (options, message) => {
    const previous = process.env.FLOWSTATE_REDIS;
    delete process.env.FLOWSTATE_REDIS;
    try {
      expect(await run(options)).toEqual({
        code: 2,
        out: [],
        err: [
          typeof message === 'string'
            ? `flowstate: ${message}. Run 'flowstate --help' for usage.`
            : expect.any(String),
        ],
      });
    } finally {
      if (previous !== undefined) process.env.FLOWSTATE_REDIS = previous;
    }
  });

  it('exits 1 when the agents module does not load or exports no registry', async () => {
    const missing = await run({ ...base, agents: 'test/support/no-such-agents.mjs' });
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toMatch(
      /^flowstate: cannot load agents from 'test\/support\/no-such-agents\.mjs'/,
    );
    const empty = await run({ ...base, agents: 'test/support/redis-server.d.mts' });
    expect(empty.code).toBe(1);
  });
});
