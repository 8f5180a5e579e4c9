import type { ZodType } from 'zod';
import { InputValidationError } from '../model/errors.js';
import { parseWith } from '../model/validation.js';
import type { MachineContext, MachineInput } from './context.js';

/**
 * A run's first context: its input (parsed with the workflow's input schema unless the engine validated it
 * already), no results yet, and the shared empty containers below.
 */
export function initialContext(input: MachineInput, schema: ZodType | undefined): MachineContext {
  let value = input.input;
  if (schema && !input.validated) {
    const parsed = parseWith(schema, value);
    if (!parsed.ok) {
      throw new InputValidationError(
        'input',
        parsed.issues,
        input.workflowId ? { workflowId: input.workflowId } : {},
      );
    }
    value = parsed.value;
  }
  return {
    workflowId: input.workflowId ?? 'embedded',
    pathPrefix: input.pathPrefix ?? '',
    // Only a child run of a later loop round has it: most contexts stay one field smaller.
    ...(input.rounds === undefined ? {} : { rounds: input.rounds }),
    input: value,
    results: {},
    iterations: NONE,
    maps: NONE,
    completed: NO_NAMES,
    skipped: NO_NAMES,
    pending: NONE,
    error: undefined,
    compensationErrors: NO_ERRORS,
    outcome: undefined,
  };
}

// The empty starting values every run shares (frozen: actions copy on write, never mutate). Most runs never write
// them, and six fresh empty containers are about 250 bytes for as long as a run lives.
const NONE = Object.freeze({}) as Record<string, never>;
const NO_NAMES = Object.freeze([]) as unknown as string[];
const NO_ERRORS = Object.freeze([]) as unknown as MachineContext['compensationErrors'];
