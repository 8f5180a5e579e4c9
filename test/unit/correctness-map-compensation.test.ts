import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

/** Issue 13: every item a `map` finished is compensated, on its own, in reverse order of completion. */

const refunds = () => {
  const undone: string[] = [];
  const refund = vi.fn((input: { step: string; output: unknown }) => {
    undone.push(`${input.step}:${String(input.output)}`);
    return null;
  });
  return { undone, refund };
};

describe('a map with a compensate agent', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('compensates the items that completed when an item fails', async () => {
    const { undone, refund } = refunds();
    const wf = workflow('charges', { onError: 'compensate' })
      .map('charge', { items: 'input.orders', step: { agent: 'charge', compensate: 'refund' } })
      .build();
    const run = testEngine({
      agents: {
        charge: async (order: string) => {
          if (order === 'c') throw new Error('card declined');
          return `paid-${order}`;
        },
        refund,
      },
    }).start(wf, { orders: ['a', 'b', 'c', 'd'] });
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STEP_FAILED', stepPath: 'charge[2]' });
    expect(undone).toEqual(['charge[1]:paid-b', 'charge[0]:paid-a']);
    expect(run.status).toBe('compensated');
  });

  it('compensates items in reverse order of completion when they run at once', async () => {
    const { undone, refund } = refunds();
    const wf = workflow('charges', { onError: 'compensate' })
      .map('charge', {
        items: 'input.orders',
        step: { agent: 'charge', compensate: 'refund' },
        concurrency: 3,
      })
      .build();
    const delays: Record<string, number> = { a: 300, b: 100, c: 500 };
    const run = testEngine({
      agents: {
        charge: async (order: string) => {
          await new Promise((resolve) => setTimeout(resolve, delays[order]));
          if (order === 'c') throw new Error('card declined');
          return `paid-${order}`;
        },
        refund,
      },
    }).start(wf, { orders: ['a', 'b', 'c'] });
    const settled = run.result.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(500);
    await settled;
    // b finished first, then a: a is undone first.
    expect(undone).toEqual(['charge[0]:paid-a', 'charge[1]:paid-b']);
  });

  it('compensates each item of a finished map when a later step fails', async () => {
    const { undone, refund } = refunds();
    const wf = workflow('charges', { onError: 'compensate' })
      .step('reserve', { compensate: 'release' })
      .map('charge', { items: 'input.orders', step: { agent: 'charge', compensate: 'refund' } })
      .step('ship')
      .build();
    const run = testEngine({
      agents: {
        reserve: () => 'r',
        release: (input: { step: string; output: unknown }) => {
          undone.push(`${input.step}:${String(input.output)}`);
          return null;
        },
        charge: (order: string) => `paid-${order}`,
        refund,
        ship: async () => {
          throw new Error('no truck');
        },
      },
    }).start(wf, { orders: ['a', 'b'] });
    await expect(run.result).rejects.toMatchObject({ stepPath: 'ship' });
    expect(undone).toEqual(['charge[1]:paid-b', 'charge[0]:paid-a', 'reserve:r']);
    expect(refund).toHaveBeenCalledWith(
      expect.objectContaining({ step: 'charge[1]', output: 'paid-b', input: { orders: ['a', 'b'] } }),
      expect.objectContaining({ step: 'charge[1]/compensate' }),
    );
  });

  it('does not compensate items skipped after a failure', async () => {
    const { undone, refund } = refunds();
    const wf = workflow('charges')
      .map('charge', {
        items: 'input.orders',
        step: { agent: 'charge', compensate: 'refund', onError: 'skip' },
      })
      .step('ship', { onError: 'compensate' })
      .build();
    const run = testEngine({
      agents: {
        charge: async (order: string) => {
          if (order === 'b') throw new Error('card declined');
          return `paid-${order}`;
        },
        refund,
        ship: async () => {
          throw new Error('no truck');
        },
      },
    }).start(wf, { orders: ['a', 'b', 'c'] });
    await expect(run.result).rejects.toMatchObject({ stepPath: 'ship' });
    expect(undone).toEqual(['charge[2]:paid-c', 'charge[0]:paid-a']);
  });
});
