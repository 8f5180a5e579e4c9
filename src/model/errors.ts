/**
 * The Flowstate error hierarchy. Callers branch on `code` or `instanceof`, never on message text.
 * Messages are safe to show a user; the original cause is kept on `cause`, never printed into the message.
 */

/** Every stable error code Flowstate raises. */
export type ErrorCode =
  | 'DEFINITION_INVALID'
  | 'INPUT_INVALID'
  | 'OUTPUT_INVALID'
  | 'CONFIGURATION_INVALID'
  | 'STEP_FAILED'
  | 'STEP_TIMEOUT'
  | 'ESCALATION_TIMEOUT'
  | 'WAIT_TIMEOUT'
  | 'CANCELLED'
  | 'VERSION_MISMATCH'
  | 'RUN_CORRUPTED'
  | 'RUN_NOT_FOUND'
  | 'RUN_ID_TAKEN'
  | 'LEASE_LOST'
  | 'RUN_OWNED'
  | 'SIGNAL_TIMEOUT'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL';

const KINDS: unique symbol = Symbol.for('flowstate.error.kinds') as never;

/** Where a problem sits, as a list of keys and indexes (like a zod issue path). */
export type IssuePath = ReadonlyArray<string | number>;

/** Fields every Flowstate error may carry. */
export interface FlowstateErrorOptions {
  /** The original error, kept for debugging and never rendered into `message`. */
  cause?: unknown;
  /** The run the error belongs to. */
  workflowId?: string;
  /** The step the error belongs to, such as `analyze` or `child/inner` or `fanout[3]`. */
  stepPath?: string;
}

/**
 * Base class of every error Flowstate throws or rejects with.
 * `instanceof` works across two copies of the package (it checks a global brand, not the prototype).
 *
 * @example
 * ```ts
 * try { await run.result } catch (err) {
 *   if (err instanceof FlowstateError && err.code === 'CANCELLED') return;
 *   throw err;
 * }
 * ```
 */
export class FlowstateError extends Error {
  /** A stable code: branch on it. */
  readonly code: ErrorCode;
  readonly workflowId: string | undefined;
  readonly stepPath: string | undefined;
  /** When compensations ran after the failure and some of them failed too: their errors, in the order they ran. */
  declare readonly compensationErrors?: readonly SerializedError[];
  declare readonly [KINDS]: readonly string[];

  constructor(code: ErrorCode, message: string, options: FlowstateErrorOptions = {}) {
    super(`[${code}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.workflowId = options.workflowId;
    this.stepPath = options.stepPath;
    const kinds: string[] = [];
    for (
      let proto: unknown = new.target;
      typeof proto === 'function' && proto !== Error;
      proto = Object.getPrototypeOf(proto)
    ) {
      kinds.push(proto.name);
    }
    Object.defineProperty(this, KINDS, { value: kinds, enumerable: false });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const kinds = (value as { [KINDS]?: unknown })[KINDS];
    // `this` is the class `instanceof` was asked about (a subclass included), hence not the literal class name.
    // biome-ignore lint/complexity/noThisInStatic: see above
    return Array.isArray(kinds) && kinds.includes(this.name);
  }

  /** A plain, JSON-safe form (no stack, cause reduced to name and message). */
  toJSON(): SerializedError {
    return serializeError(this);
  }
}

/** One problem found in a workflow definition. */
export interface DefinitionProblem {
  /** A stable kind, such as `duplicate-name` or `unknown-agent`. */
  readonly code: string;
  /** Where in the definition: `['steps', 2, 'regions', 'tables', 0]`. */
  readonly path: IssuePath;
  readonly message: string;
}

/**
 * A workflow definition is invalid. Carries every problem found, each with its path, not only the first.
 *
 * @example
 * ```ts
 * try { workflow('x').branch('b', []).build() } catch (err) {
 *   if (err instanceof WorkflowDefinitionError) console.log(err.problems.map((p) => p.path.join('.')));
 * }
 * ```
 */
export class WorkflowDefinitionError extends FlowstateError {
  readonly problems: readonly DefinitionProblem[];
  constructor(workflowId: string, problems: readonly DefinitionProblem[]) {
    const list = problems.map((p) => `  - ${formatPath(p.path)}: ${p.message}`).join('\n');
    super(
      'DEFINITION_INVALID',
      `Workflow '${workflowId}' has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${list}`,
      { workflowId },
    );
    this.problems = problems;
  }
}

/** One problem found while validating data against a zod schema. */
export interface ValidationIssue {
  readonly path: IssuePath;
  readonly code: string;
  readonly message: string;
}

/** What was being validated when an {@link InputValidationError} was raised. */
export type ValidationSubject = 'input' | 'event';

/**
 * Data given to Flowstate (a workflow input, or an event payload for `waitFor`) does not match its schema.
 * Nothing was started or changed.
 */
export class InputValidationError extends FlowstateError {
  readonly subject: ValidationSubject;
  readonly issues: readonly ValidationIssue[];
  constructor(
    subject: ValidationSubject,
    issues: readonly ValidationIssue[],
    options: FlowstateErrorOptions = {},
  ) {
    super('INPUT_INVALID', `Invalid ${subject}:\n${formatIssues(issues)}`, options);
    this.subject = subject;
    this.issues = issues;
  }
}

/** A workflow finished but its output does not match the definition's `output` schema. */
export class OutputValidationError extends FlowstateError {
  readonly issues: readonly ValidationIssue[];
  constructor(issues: readonly ValidationIssue[], options: FlowstateErrorOptions = {}) {
    super(
      'OUTPUT_INVALID',
      `Workflow output does not match its output schema:\n${formatIssues(issues)}`,
      options,
    );
    this.issues = issues;
  }
}

/** The engine was used in a way it cannot serve (an unknown workflow id, an unknown step path...). */
export class ConfigurationError extends FlowstateError {
  constructor(message: string, options: FlowstateErrorOptions = {}) {
    super('CONFIGURATION_INVALID', message, options);
  }
}

/** Codes a failed step can carry. */
export type StepErrorCode =
  | 'STEP_FAILED'
  | 'STEP_TIMEOUT'
  | 'ESCALATION_TIMEOUT'
  | 'WAIT_TIMEOUT'
  | 'CANCELLED';

/** Fields of a step failure. */
export interface StepFailedErrorOptions extends FlowstateErrorOptions {
  /** How many agent attempts were made before the step gave up. */
  attempts?: number;
}

/** A step failed after every retry, fallback and escalation it had. The agent's error is on `cause`. */
export class StepFailedError extends FlowstateError {
  readonly attempts: number;
  constructor(message: string, options: StepFailedErrorOptions = {}, code: StepErrorCode = 'STEP_FAILED') {
    super(code, message, options);
    this.attempts = options.attempts ?? 0;
  }
}

/** One agent attempt took longer than the step's `timeoutMs`. This is the reason its AbortSignal fires with. */
export class StepTimeoutError extends StepFailedError {
  constructor(timeoutMs: number, options: StepFailedErrorOptions = {}) {
    super(`Attempt timed out after ${timeoutMs} ms`, options, 'STEP_TIMEOUT');
  }
}

/** An escalation got no decision before its deadline and its `onTimeout` is `fail`. */
export class EscalationTimeoutError extends StepFailedError {
  constructor(message: string, options: StepFailedErrorOptions = {}) {
    super(message, options, 'ESCALATION_TIMEOUT');
  }
}

/** A `waitFor` step got no event before its deadline and its `onTimeout` is `fail`. */
export class WaitTimeoutError extends StepFailedError {
  constructor(message: string, options: StepFailedErrorOptions = {}) {
    super(message, options, 'WAIT_TIMEOUT');
  }
}

/** The run was cancelled with `run.cancel()`. This is also the reason every running agent's AbortSignal fires with. */
export class CancelledError extends FlowstateError {
  constructor(reason = 'The run was cancelled', options: FlowstateErrorOptions = {}) {
    super('CANCELLED', reason, options);
  }
}

/**
 * A stored run was started from another version of its definition. It is not resumed silently: migrate it
 * (finish it on the old definition, registered under a new id) or cancel it. See docs/durability.md.
 */
export class DefinitionVersionError extends FlowstateError {
  readonly storedVersion: string;
  readonly currentVersion: string;
  constructor(workflowId: string, definition: string, storedVersion: string, currentVersion: string) {
    super(
      'VERSION_MISMATCH',
      `Run '${workflowId}' was started from '${definition}' version ${storedVersion}, but version ${currentVersion} is registered: give createEngine({ migrate: { '${definition}': ... } }) a hook that continues, restarts or cancels such runs`,
      { workflowId },
    );
    this.storedVersion = storedVersion;
    this.currentVersion = currentVersion;
  }
}

/** A stored run does not parse (corrupted or edited by hand). Only this run is affected. */
export class CorruptRunError extends FlowstateError {
  constructor(workflowId: string, cause: unknown) {
    super('RUN_CORRUPTED', `Stored run '${workflowId}' is corrupted and cannot be resumed`, {
      workflowId,
      cause,
    });
  }
}

/**
 * `engine.start(def, input, { id })` named an id another stored run holds. Nothing of this run was called or
 * stored; the earlier run keeps its row.
 */
export class RunIdTakenError extends FlowstateError {
  constructor(workflowId: string) {
    super(
      'RUN_ID_TAKEN',
      `Run id '${workflowId}' is already used by another run in the store: choose another id`,
      {
        workflowId,
      },
    );
  }
}

/**
 * This engine no longer owns the run: its lease expired and another engine took the run over (or an operator
 * ended it). This engine's copy stopped (its agents' signals fired) and wrote nothing more; the new owner goes on.
 */
export class LeaseLostError extends FlowstateError {
  constructor(workflowId: string, released = false) {
    super(
      'LEASE_LOST',
      released
        ? `Run '${workflowId}' was handed over by engine.close(); it continues on the next engine that takes it`
        : `Run '${workflowId}' is now owned by another engine; this engine's copy stopped`,
      { workflowId },
    );
  }
}

/** Another live engine owns the run (its lease has not expired): it cannot be resumed here now. */
export class RunOwnedError extends FlowstateError {
  constructor(workflowId: string, owner: string | undefined, leaseUntil: number | undefined) {
    super(
      'RUN_OWNED',
      `Run '${workflowId}' is owned by engine '${owner ?? '?'}' until ${leaseUntil ? new Date(leaseUntil).toISOString() : '?'}: it is taken over only once that lease expires or is released`,
      { workflowId },
    );
  }
}

/**
 * A signal (`engine.send`, `resolveEscalation`, `cancel`) for a run owned by another process was stored but not
 * applied in time: no live engine owns the run, or its owner is slow. It stays in the inbox and is applied when an
 * engine takes the run.
 */
export class SignalTimeoutError extends FlowstateError {
  constructor(workflowId: string, timeoutMs: number) {
    super(
      'SIGNAL_TIMEOUT',
      `No engine applied the signal to run '${workflowId}' within ${timeoutMs} ms; it stays queued for the run's next owner`,
      { workflowId },
    );
  }
}

/**
 * The store cannot be used now (the database is down, its file was deleted or replaced). The engine retries its
 * writes with backoff and runs wait meanwhile; no run is failed by it.
 */
export class StoreFaultError extends FlowstateError {
  constructor(message: string, options: FlowstateErrorOptions = {}) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

/** A plain, JSON-safe error, as stored in snapshots and journals. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stepPath?: string;
  readonly attempts?: number;
  readonly cause?: SerializedError;
  /** The compensations that failed while the run compensated after this error, in the order they ran. */
  readonly compensationErrors?: readonly SerializedError[];
}

/** Reduces any thrown value to a JSON-safe {@link SerializedError} (no stack, at most 3 causes deep). */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error instanceof Error) {
    const e = error as Error & {
      code?: unknown;
      stepPath?: unknown;
      attempts?: unknown;
      compensationErrors?: unknown;
    };
    const out: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
      name: e.name,
      message: e.message,
    };
    if (typeof e.code === 'string') out.code = e.code;
    if (typeof e.stepPath === 'string') out.stepPath = e.stepPath;
    if (typeof e.attempts === 'number') out.attempts = e.attempts;
    if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
    if (Array.isArray(e.compensationErrors) && depth === 0)
      out.compensationErrors = e.compensationErrors.map((c: unknown) => serializeError(c, 1));
    return out;
  }
  if (typeof error === 'object' && error !== null && 'message' in error) {
    // Already serialized (a step failure crossing actors), or an error-like object from an agent.
    const o = error as {
      name?: unknown;
      message?: unknown;
      code?: unknown;
      stepPath?: unknown;
      attempts?: unknown;
      cause?: unknown;
      compensationErrors?: unknown;
    };
    const out: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
      name: typeof o.name === 'string' ? o.name : 'Error',
      message: String(o.message),
    };
    if (typeof o.code === 'string') out.code = o.code;
    if (typeof o.stepPath === 'string') out.stepPath = o.stepPath;
    if (typeof o.attempts === 'number') out.attempts = o.attempts;
    if (o.cause !== undefined && depth < 3) out.cause = serializeError(o.cause, depth + 1);
    if (Array.isArray(o.compensationErrors) && depth === 0)
      out.compensationErrors = o.compensationErrors.map((c: unknown) => serializeError(c, 1));
    return out;
  }
  return { name: 'Error', message: String(error) };
}

/** Renders an issue path as `a.b[2].c`; the root is `(root)`. */
export function formatPath(path: IssuePath): string {
  if (path.length === 0) return '(root)';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `  - ${formatPath(i.path)}: ${i.message}`).join('\n');
}
