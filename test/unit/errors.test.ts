import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  EscalationTimeoutError,
  FlowstateError,
  InputValidationError,
  StepFailedError,
  WorkflowDefinitionError,
} from '../../src/index.js';
import { serializeError } from '../../src/model/errors.js';

describe('the error hierarchy', () => {
  it('is instanceof-checkable along the hierarchy, with a stable code', () => {
    const error = new EscalationTimeoutError('no decision', {
      stepPath: 'review',
      attempts: 2,
      workflowId: 'w',
    });
    expect(error).toBeInstanceOf(EscalationTimeoutError);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toBeInstanceOf(FlowstateError);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({
      code: 'ESCALATION_TIMEOUT',
      stepPath: 'review',
      attempts: 2,
      workflowId: 'w',
      name: 'EscalationTimeoutError',
    });
    expect(error.message).toBe('[ESCALATION_TIMEOUT] no decision');
  });

  it('survives two copies of the package: instanceof checks a global brand, not the prototype', async () => {
    // A query string makes the module loader evaluate the file a second time, as two installed copies would be.
    const secondCopy = '../../src/model/errors.ts?second-copy';
    const copy = (await import(/* @vite-ignore */ secondCopy)) as typeof import('../../src/model/errors.js');
    expect(copy.StepFailedError).not.toBe(StepFailedError);
    const fromCopy = new copy.StepFailedError('x');
    expect(fromCopy).toBeInstanceOf(StepFailedError);
    expect(fromCopy).toBeInstanceOf(FlowstateError);
    expect(new CancelledError()).toBeInstanceOf(copy.FlowstateError);
    expect(new CancelledError()).not.toBeInstanceOf(copy.StepFailedError);
    expect({ code: 'CANCELLED' }).not.toBeInstanceOf(FlowstateError);
  });

  it('keeps the cause on `cause`, never in the message', () => {
    const cause = new Error('password=hunter2 at db');
    const error = new StepFailedError("Step 'a' failed", { cause });
    expect(error.message).not.toContain('hunter2');
    expect(error.cause).toBe(cause);
  });

  it('lists every definition problem and every validation issue with its path', () => {
    const error = new WorkflowDefinitionError('w', [
      { code: 'a', path: ['steps', 0, 'name'], message: 'first' },
      { code: 'b', path: [], message: 'second' },
    ]);
    expect(error.message).toBe(
      "[DEFINITION_INVALID] Workflow 'w' has 2 problems:\n  - steps[0].name: first\n  - (root): second",
    );
    const input = new InputValidationError('input', [
      { path: ['table'], code: 'invalid_type', message: 'Expected string' },
    ]);
    expect(input.message).toBe('[INPUT_INVALID] Invalid input:\n  - table: Expected string');
  });

  it('serializes any thrown value to plain JSON, causes three deep at most', () => {
    let error: unknown = new Error('root');
    for (let i = 0; i < 6; i++) error = new StepFailedError(`level ${i}`, { cause: error, attempts: i });
    const plain = serializeError(error);
    expect(JSON.parse(JSON.stringify(plain))).toEqual(plain);
    expect(plain).toMatchObject({ name: 'StepFailedError', code: 'STEP_FAILED', attempts: 5 });
    expect(plain.cause?.cause?.cause?.cause).toBeUndefined();
    expect(serializeError('text')).toEqual({ name: 'Error', message: 'text' });
    expect(
      serializeError({ message: 'like', code: 'E', stepPath: 'a', attempts: 1, cause: { message: 'c' } }),
    ).toEqual({
      name: 'Error',
      message: 'like',
      code: 'E',
      stepPath: 'a',
      attempts: 1,
      cause: { name: 'Error', message: 'c' },
    });
  });
});
