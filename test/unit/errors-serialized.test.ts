import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ConfigurationError,
  CorruptRunError,
  DefinitionVersionError,
  EscalationTimeoutError,
  FlowstateError,
  InputValidationError,
  LeaseLostError,
  OutputValidationError,
  RunIdTakenError,
  RunOwnedError,
  SignalTimeoutError,
  StepFailedError,
  StepTimeoutError,
  StoredFormatError,
  StoreFaultError,
  WaitTimeoutError,
  WorkflowDefinitionError,
} from '../../src/index.js';
import { type ErrorCode, failureOf, fromSerialized, serializeError } from '../../src/model/errors.js';
import { toFlowstateError } from '../../src/runtime/outcome.js';

const issue = { path: ['table'], code: 'invalid_type', message: 'Expected string' };

/** One error of every code, as the engine raises them. */
const samples: Record<ErrorCode, FlowstateError> = {
  DEFINITION_INVALID: new WorkflowDefinitionError('w', [
    { code: 'dup', path: ['steps', 0], message: 'twice' },
  ]),
  INPUT_INVALID: new InputValidationError('event', [issue], { stepPath: 'approval' }),
  OUTPUT_INVALID: new OutputValidationError([issue]),
  CONFIGURATION_INVALID: new ConfigurationError("Unknown workflow 'x'"),
  STEP_FAILED: new StepFailedError("Step 'a' failed after 3 attempts", {
    stepPath: 'a',
    attempts: 3,
    cause: new Error('boom'),
  }),
  STEP_TIMEOUT: new StepTimeoutError(100, { stepPath: 'a', attempts: 1 }),
  ESCALATION_TIMEOUT: new EscalationTimeoutError('no decision', { stepPath: 'review', attempts: 2 }),
  WAIT_TIMEOUT: new WaitTimeoutError("No 'ok' event within 10 ms", { stepPath: 'wait' }),
  CANCELLED: new CancelledError('stop'),
  VERSION_MISMATCH: new DefinitionVersionError('r1', 'orders', '1', '2'),
  RUN_CORRUPTED: new CorruptRunError('r1', new Error('bad json')),
  STORED_FORMAT_UNSUPPORTED: new StoredFormatError('r1', 3, 2),
  RUN_NOT_FOUND: new FlowstateError('RUN_NOT_FOUND', "No stored run 'r1'"),
  RUN_ID_TAKEN: new RunIdTakenError('r1'),
  LEASE_LOST: new LeaseLostError('r1', true),
  RUN_OWNED: new RunOwnedError('r1', 'engine-b', 0),
  SIGNAL_TIMEOUT: new SignalTimeoutError('r1', 50),
  STORE_UNAVAILABLE: new StoreFaultError('The database is down'),
  INTERNAL: new FlowstateError('INTERNAL', 'The run failed'),
};

const roundTrip = (error: FlowstateError) =>
  fromSerialized(JSON.parse(JSON.stringify(serializeError(error))), 'r1');

describe('errors through their serialized form', () => {
  it.each(Object.entries(samples))('%s comes back as its class with the same message', (code, error) => {
    const rebuilt = roundTrip(error);
    expect(rebuilt.constructor).toBe(error.constructor);
    expect(rebuilt).toBeInstanceOf(FlowstateError);
    expect(rebuilt).toMatchObject({ code, name: error.name, message: error.message, workflowId: 'r1' });
    expect(rebuilt.stepPath).toBe(error.stepPath);
  });

  it("keeps the class's own fields", () => {
    expect(roundTrip(samples.INPUT_INVALID)).toMatchObject({ subject: 'event', issues: [issue] });
    expect(roundTrip(samples.OUTPUT_INVALID)).toMatchObject({ issues: [issue] });
    expect(roundTrip(samples.DEFINITION_INVALID)).toMatchObject({ problems: [{ code: 'dup' }] });
    expect(roundTrip(samples.VERSION_MISMATCH)).toMatchObject({ storedVersion: '1', currentVersion: '2' });
    expect(roundTrip(samples.STORED_FORMAT_UNSUPPORTED)).toMatchObject({
      storedFormat: 3,
      readableFormat: 2,
    });
    const step = roundTrip(samples.STEP_FAILED);
    expect(step).toBeInstanceOf(StepFailedError);
    expect(step).toMatchObject({ attempts: 3 });
    expect(step.cause).toMatchObject({ name: 'Error', message: 'boom' });
    expect(roundTrip(samples.WAIT_TIMEOUT)).toMatchObject({ attempts: 0 });
    expect(roundTrip(samples.STEP_TIMEOUT)).toBeInstanceOf(StepFailedError);
  });

  it('names a failure built without an error object after its class, and prefixes its message once', () => {
    for (const [code, error] of Object.entries(samples) as [ErrorCode, FlowstateError][]) {
      expect(failureOf(code, 'why').name).toBe(error.name);
    }
    const failure = failureOf('ESCALATION_TIMEOUT', 'no decision', { stepPath: 'review', attempts: 2 });
    expect(failure).toEqual({
      name: 'EscalationTimeoutError',
      message: 'no decision',
      code: 'ESCALATION_TIMEOUT',
      stepPath: 'review',
      attempts: 2,
    });
    const rebuilt = fromSerialized(failure, 'r1');
    expect(rebuilt).toBeInstanceOf(EscalationTimeoutError);
    expect(rebuilt.message).toBe('[ESCALATION_TIMEOUT] no decision');
  });

  it('takes off only its own code: other text that looks like a code stays', () => {
    const rebuilt = fromSerialized({ name: 'StepFailedError', code: 'STEP_FAILED', message: '[X] y' }, 'r1');
    expect(rebuilt.message).toBe('[STEP_FAILED] [X] y');
  });

  it('rebuilds an unknown code as INTERNAL, and keeps compensation errors', () => {
    const compensationErrors = [{ name: 'Error', message: 'undo failed', stepPath: 'a/compensate' }];
    const rebuilt = toFlowstateError(
      { name: 'Error', message: '[E_AGENT] odd', code: 'E_AGENT', compensationErrors },
      'r1',
    );
    expect(rebuilt).toMatchObject({ code: 'INTERNAL', message: '[INTERNAL] odd', compensationErrors });
    expect(rebuilt.constructor).toBe(FlowstateError);
  });

  it('rebuilds a Flowstate cause as its class, an agent cause as a plain Error with its name, message and code', () => {
    const failure = failureOf('STEP_FAILED', "Step 'fetch' failed after 2 attempts", {
      stepPath: 'fetch',
      attempts: 2,
      cause: failureOf('STEP_TIMEOUT', 'Attempt 2 passed 100 ms', {
        stepPath: 'fetch',
        cause: { name: 'HttpError', message: 'busy', code: 'E_BUSY' },
      }),
    });
    const rebuilt = fromSerialized(JSON.parse(JSON.stringify(failure)), 'r1');
    expect(rebuilt).toBeInstanceOf(StepFailedError);
    expect(rebuilt.cause).toBeInstanceOf(StepTimeoutError);
    expect(rebuilt.cause).toMatchObject({ code: 'STEP_TIMEOUT', stepPath: 'fetch', workflowId: 'r1' });
    const agentCause = (rebuilt.cause as Error).cause as Error & { code?: string };
    expect(agentCause.constructor).toBe(Error);
    expect(agentCause).toMatchObject({ name: 'HttpError', message: 'busy', code: 'E_BUSY' });
  });
});
