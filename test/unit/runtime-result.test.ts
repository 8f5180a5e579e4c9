import { afterEach, describe, expect, it } from 'vitest';
import { StepFailedError, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

/** Lets pending promise reactions and immediates run (no time passes: every agent here settles at once). */
const drain = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe("a run's result", () => {
  const unhandled: unknown[] = [];
  const listen = (reason: unknown) => unhandled.push(reason);
  afterEach(() => {
    process.off('unhandledRejection', listen);
    unhandled.length = 0;
  });

  it('raises no unhandled rejection when a failed run is never awaited, and still rejects when read later', async () => {
    process.on('unhandledRejection', listen);
    const wf = workflow('fails').step('boom', { agent: 'boom' }).build();
    const engine = testEngine({
      agents: {
        boom: async () => {
          throw new Error('no');
        },
      },
    });
    const run = engine.start(wf, {});
    await drain();
    expect(run.status).toBe('failed');
    expect(unhandled).toEqual([]);
    await expect(run.result).rejects.toBeInstanceOf(StepFailedError);
  });

  it('raises no unhandled rejection when a run cancelled before its first step is never awaited', async () => {
    process.on('unhandledRejection', listen);
    const wf = workflow('cancelled').step('wait', { agent: 'slow' }).build();
    const engine = testEngine({ agents: { slow: () => new Promise(() => {}) } });
    const run = engine.start(wf, {});
    run.cancel('not today');
    await drain();
    expect(run.status).toBe('cancelled');
    expect(unhandled).toEqual([]);
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
