import { describe, expect, it } from 'vitest';
import { notUndone } from '../../src/cli/commands/execute.js';
import { FlowstateError, serializeError } from '../../src/model/errors.js';
import { notUndoneOf } from '../../src/model/not-undone.js';

/** A run's error whose compensations failed, as the engine builds it: the step's failure, the agent's error as its cause. */
function failedUndo() {
  const step = new FlowstateError('STEP_FAILED', "Step 'apply/compensate' failed after 1 attempt", {
    cause: new Error('disk\nfull'),
  });
  Object.assign(step, { stepPath: 'apply/compensate' });
  const error = new FlowstateError('STEP_FAILED', "Step 'apply' failed");
  Object.assign(error, { compensationErrors: [step, new Error('no step named')] });
  return error;
}

const stepMessage = "[STEP_FAILED] Step 'apply/compensate' failed after 1 attempt";

describe('notUndoneOf', () => {
  it('words a live error and its stored (serialized) form alike', () => {
    const live = failedUndo();
    const expected = [
      { stepPath: 'apply/compensate', reason: `${stepMessage}: disk\nfull` },
      { reason: 'no step named' },
    ];
    expect(notUndoneOf(live)).toEqual(expected);
    expect(notUndoneOf(serializeError(live))).toEqual(expected);
  });

  it.each([undefined, null, 'text', {}, { compensationErrors: 'not a list' }])(
    'finds nothing in %j',
    (error) => {
      expect(notUndoneOf(error)).toEqual([]);
    },
  );

  it('the CLI prints one line each, control characters flattened, long reasons cut', () => {
    const error = failedUndo();
    expect(notUndone(error)).toEqual([
      `NOT undone (apply/compensate): ${stepMessage}: disk full`,
      'NOT undone (a compensation): no step named',
    ]);
    const long = { compensationErrors: [{ message: 'x'.repeat(700) }] };
    expect(notUndone(long)[0]).toBe(`NOT undone (a compensation): ${'x'.repeat(600)}…`);
  });
});
