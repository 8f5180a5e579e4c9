import { afterEach, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { z } from 'zod';
import { FlowstateError, OutputValidationError, StepFailedError, workflow } from '../../src/index.js';
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

  it('is one promise, whenever it is first read: before the end, at it, or long after', async () => {
    const wf = workflow('readTwice').waitFor('go', { event: 'go', timeoutMs: 60_000 }).build();
    const engine = testEngine();
    const early = engine.start(wf, {});
    const late = engine.start(wf, {});
    const first = early.result;
    expect(early.result).toBe(first);
    early.send({ type: 'go', by: 'early' });
    late.send({ type: 'go', by: 'late' });
    await drain();
    expect(early.result).toBe(first);
    await expect(first).resolves.toEqual({ go: { by: 'early' } });
    // Never read until now: made from how the run ended.
    const made = late.result;
    expect(late.result).toBe(made);
    await expect(made).resolves.toEqual({ go: { by: 'late' } });
  });

  it('raises no unhandled rejection when the result was read before the run failed but never awaited', async () => {
    process.on('unhandledRejection', listen);
    const wf = workflow('readThenFail').step('boom', { agent: 'boom' }).build();
    const engine = testEngine({
      agents: {
        boom: async () => {
          throw new Error('no');
        },
      },
    });
    const run = engine.start(wf, {});
    void run.result;
    await drain();
    expect(run.status).toBe('failed');
    expect(unhandled).toEqual([]);
    await expect(run.result).rejects.toBeInstanceOf(StepFailedError);
  });

  it("rejects a result first read after the end with the output schema's failure", async () => {
    const wf = workflow('badOutput', { output: z.object({ a: z.string() }) })
      .step('a')
      .build();
    const run = testEngine({ agents: { a: () => 42 } }).start(wf, {});
    await drain();
    expect(run.status).toBe('done');
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputValidationError);
    expect((error as OutputValidationError).issues[0]?.path).toEqual(['a']);
  });

  it('rejects with CANCELLED when the actor is stopped from outside, read before or after', async () => {
    const wf = workflow('stopped').waitFor('go', { event: 'go', timeoutMs: 60_000 }).build();
    const engine = testEngine();
    const before = engine.start(wf, {});
    const after = engine.start(wf, {});
    const read = before.result.catch((e: unknown) => e);
    before.actor.stop();
    after.actor.stop();
    await drain();
    for (const error of [await read, await after.result.catch((e: unknown) => e)]) {
      expect(error).toMatchObject({
        code: 'CANCELLED',
        message: expect.stringContaining('The run was stopped'),
      });
    }
    expect(engine.active.size).toBe(0);
  });

  it('rejects with INTERNAL, and raises nothing unhandled, when the machine throws where nothing catches it', async () => {
    process.on('unhandledRejection', listen);
    const machine = createMachine({
      id: 'throws',
      initial: 'idle',
      states: {
        idle: {
          on: {
            go: {
              actions: () => {
                throw new Error('the action broke');
              },
            },
            finish: 'done',
          },
        },
        done: { type: 'final' },
      },
    });
    const engine = testEngine();
    const run = engine.start(machine, {});
    run.send({ type: 'go' });
    await drain();
    expect(run.status).toBe('failed');
    expect(unhandled).toEqual([]);
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowstateError);
    expect(error).toMatchObject({ code: 'INTERNAL', cause: { message: 'the action broke' } });
    expect(engine.active.size).toBe(0);
  });
});
