import {
  CancelledError,
  type ErrorCode,
  EscalationTimeoutError,
  FlowstateError,
  type FlowstateErrorOptions,
  type SerializedError,
  StepFailedError,
  WaitTimeoutError,
} from '../model/errors.js';

const CODES = new Set<string>([
  'DEFINITION_INVALID',
  'INPUT_INVALID',
  'OUTPUT_INVALID',
  'CONFIGURATION_INVALID',
  'STEP_FAILED',
  'STEP_TIMEOUT',
  'ESCALATION_TIMEOUT',
  'WAIT_TIMEOUT',
  'CANCELLED',
  'VERSION_MISMATCH',
  'RUN_CORRUPTED',
  'RUN_NOT_FOUND',
  'RUN_ID_TAKEN',
  'LEASE_LOST',
  'RUN_OWNED',
  'SIGNAL_TIMEOUT',
  'STORE_UNAVAILABLE',
  'INTERNAL',
]);

/**
 * Turns the JSON-safe failure kept in a snapshot back into a typed error of the hierarchy, with the failures of
 * compensations that ran on the way (`compensationErrors`).
 */
export function toFlowstateError(error: SerializedError, workflowId: string): FlowstateError {
  const typed = typedError(error, workflowId);
  if (error.compensationErrors) Object.assign(typed, { compensationErrors: error.compensationErrors });
  return typed;
}

function typedError(error: SerializedError, workflowId: string): FlowstateError {
  const message = error.message.replace(/^\[[A-Z_]+\] /, '');
  const options: FlowstateErrorOptions & { attempts?: number } = { workflowId };
  if (error.stepPath) options.stepPath = error.stepPath;
  if (error.attempts !== undefined) options.attempts = error.attempts;
  if (error.cause) options.cause = toCause(error.cause);
  switch (error.code) {
    case 'STEP_FAILED':
    case 'STEP_TIMEOUT':
      return new StepFailedError(message, options, error.code);
    case 'ESCALATION_TIMEOUT':
      return new EscalationTimeoutError(message, options);
    case 'WAIT_TIMEOUT':
      return new WaitTimeoutError(message, options);
    case 'CANCELLED':
      return new CancelledError(message, options);
    default:
      return new FlowstateError(
        CODES.has(error.code ?? '') ? (error.code as ErrorCode) : 'INTERNAL',
        message,
        options,
      );
  }
}

/** A cause as a plain `Error` carrying the original name and code. */
function toCause(cause: SerializedError): Error {
  const error = new Error(cause.message, cause.cause ? { cause: toCause(cause.cause) } : undefined);
  error.name = cause.name;
  if (cause.code !== undefined) Object.assign(error, { code: cause.code });
  return error;
}
