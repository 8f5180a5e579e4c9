// What a `compensate` agent is called with, as README § Compensation and docs/api.md § OnError say: the step it
// undoes, that step's output (a map item's own output alone), the workflow's input and the error.
import { expect, it } from 'vitest';
import { createEngine, workflow } from '../../src/index.js';
import { silent } from '../support/engine.js';

it('calls each compensate agent with { step, output, input, error }, map items one by one, last first', async () => {
  const calls: unknown[] = [];
  const order = workflow('order', { onError: 'compensate' })
    .step('reserve', { compensate: 'release', input: 'input.sku' })
    .map('ship', { items: 'input.items', step: { agent: 'shipOne', compensate: 'unship' } })
    .step('charge')
    .build();
  const engine = createEngine({
    logger: silent,
    agents: {
      reserve: async (sku: string) => ({ id: `r-${sku}` }),
      shipOne: async (item: string) => ({ shipped: item }),
      charge: async () => {
        throw new Error('card declined');
      },
      release: async (input: unknown, ctx: { step: string }) => void calls.push([ctx.step, input]),
      unship: async (input: unknown, ctx: { step: string }) => void calls.push([ctx.step, input]),
    },
  });
  const input = { sku: 'a1', items: ['x', 'y'] };
  await expect(engine.start(order, input).result).rejects.toMatchObject({ code: 'STEP_FAILED' });
  const error = expect.objectContaining({
    name: 'StepFailedError',
    code: 'STEP_FAILED',
    stepPath: 'charge',
    message: "Step 'charge' failed after 1 attempt",
  });
  expect(calls).toEqual([
    ['ship[1]/compensate', { step: 'ship[1]', output: { shipped: 'y' }, input, error }],
    ['ship[0]/compensate', { step: 'ship[0]', output: { shipped: 'x' }, input, error }],
    ['reserve/compensate', { step: 'reserve', output: { id: 'r-a1' }, input, error }],
  ]);
});
