import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { FlowstateError, workflow } from '../../src/index.js';
import type { WorkflowOutcome } from '../../src/machine/context.js';
import { serializeError } from '../../src/model/errors.js';
import { testEngine } from '../support/engine.js';

/** Issue 13: the failures of compensations travel with the error the run ends with. */

const saga = workflow('saga', { onError: 'compensate' })
  .step('a', { compensate: 'undoA' })
  .step('b', { compensate: 'undoB' })
  .step('c')
  .build();

const agents = {
  a: () => 1,
  b: () => 2,
  c: async () => {
    throw new Error('c failed');
  },
  undoA: async () => {
    throw new Error('undo a failed');
  },
  undoB: async () => {
    throw new Error('undo b failed');
  },
};

describe('compensation errors', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('are on the outcome error, in the order the compensations ran', async () => {
    const run = testEngine({ agents }).start(saga, {});
    await run.result.catch(() => {});
    const outcome = run.actor.getSnapshot().output as WorkflowOutcome;
    const expected = [
      expect.objectContaining({ stepPath: 'b/compensate' }),
      expect.objectContaining({ stepPath: 'a/compensate' }),
    ];
    // Not `compensated`: that says every change was undone.
    expect(run.status).toBe('failed');
    expect(outcome).toMatchObject({ status: 'failed', compensationErrors: expected });
    expect(outcome.status !== 'done' && outcome.error).toMatchObject({
      stepPath: 'c',
      compensationErrors: expected,
    });
    // JSON-safe, as a store keeps it.
    expect(JSON.parse(JSON.stringify(outcome))).toEqual(outcome);
  });

  it('are on the outcome error of a machine run without an engine', async () => {
    const machine = testEngine({ agents }).machineFor(saga);
    const actor = createActor(machine, { input: { input: {} } }).start();
    await vi.advanceTimersByTimeAsync(0);
    const output = actor.getSnapshot().output as { error: { compensationErrors?: unknown[] } };
    expect(output.error.compensationErrors).toHaveLength(2);
  });

  it('are absent when every compensation succeeded', async () => {
    const run = testEngine({
      agents: { ...agents, undoA: () => null, undoB: () => null },
    }).start(saga, {});
    await run.result.catch(() => {});
    const outcome = run.actor.getSnapshot().output as WorkflowOutcome;
    expect(outcome.status).toBe('compensated');
    expect(outcome.status !== 'done' && outcome.error).not.toHaveProperty('compensationErrors');
  });

  // Found by review: a child workflow's failed compensation is the parent's too (its error carries it).
  describe('of a child workflow', () => {
    const fails = (message: string) => async () => {
      throw Object.assign(new Error(message), { retryable: false });
    };
    const child = workflow('child', { onError: 'compensate' })
      .step('x', { compensate: 'undoX' })
      .step('y')
      .build();
    const parent = workflow('parent', { onError: 'compensate' })
      .step('p', { compensate: 'undoP' })
      .step('sub', { workflow: child })
      .build();
    const base = { p: () => 'p', x: () => 'x', y: fails('y failed'), undoX: fails('undo x failed') };

    it('end the parent failed even when its own compensations succeed', async () => {
      const run = testEngine({ agents: { ...base, undoP: () => null } }).start(parent, {});
      const error = await run.result.catch((e: unknown) => e);
      expect(run.status).toBe('failed');
      const outcome = run.actor.getSnapshot().output as WorkflowOutcome;
      const expected = [expect.objectContaining({ stepPath: 'sub/x/compensate' })];
      expect(outcome).toMatchObject({ status: 'failed', compensationErrors: expected });
      expect(error).toMatchObject({ compensationErrors: expected });
    });

    it("come first, then the parent's own", async () => {
      const run = testEngine({ agents: { ...base, undoP: fails('undo p failed') } }).start(parent, {});
      const error = (await run.result.catch((e: unknown) => e)) as {
        compensationErrors: { stepPath: string }[];
      };
      expect(run.status).toBe('failed');
      expect(error.compensationErrors.map((e) => e.stepPath)).toEqual(['sub/x/compensate', 'p/compensate']);
    });
  });

  it('survive serializeError, as an error carrying them is stored', () => {
    const error = Object.assign(new FlowstateError('STEP_FAILED', 'c failed'), {
      compensationErrors: [{ name: 'Error', message: 'undo failed', stepPath: 'b/compensate' }],
    });
    expect(serializeError(error).compensationErrors).toEqual([
      { name: 'Error', message: 'undo failed', stepPath: 'b/compensate' },
    ]);
    expect(error.toJSON().compensationErrors).toHaveLength(1);
    expect(serializeError({ message: 'x', compensationErrors: [new Error('y')] }).compensationErrors).toEqual(
      [{ name: 'Error', message: 'y' }],
    );
  });

  // Unskip once src/runtime/outcome.ts (toFlowstateError) copies `compensationErrors` onto the error it builds.
  it('are on the error run.result rejects with', async () => {
    const run = testEngine({ agents }).start(saga, {});
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowstateError);
    expect(error).toMatchObject({
      stepPath: 'c',
      compensationErrors: [{ stepPath: 'b/compensate' }, { stepPath: 'a/compensate' }],
    });
  });
});
