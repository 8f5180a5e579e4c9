/**
 * The Flowstate error hierarchy. Callers branch on `code` or `instanceof`, never on message text.
 * Messages are safe to show a user; the original cause is kept on `cause`, never printed into the message.
 */
import { type AgentErrorFields, agentErrorFields } from './agent-errors.js';

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
  | 'STORED_FORMAT_UNSUPPORTED'
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
  /** What is wrong, for a person to read. */
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
  /** Where in the data: the zod issue's path, such as `['tables', 0, 'name']`; `[]` for the value itself. */
  readonly path: IssuePath;
  /** The zod issue code, such as `invalid_type` or `too_small`. */
  readonly code: string;
  /** The zod issue's message, for a person to read. */
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
 * A stored run was checkpointed by a newer Flowstate, in a snapshot format this build does not read. It is refused,
 * not restored wrongly, and left as stored (not failed, not rewritten, its lease not kept) for an engine of a build
 * that reads it: upgrade this one. See "Upgrading Flowstate itself" in docs/durability.md.
 */
export class StoredFormatError extends FlowstateError {
  /** The format the run's snapshot was written in. */
  readonly storedFormat: number;
  /** The newest format this build reads. */
  readonly readableFormat: number;
  constructor(workflowId: string, storedFormat: number, readableFormat: number) {
    super(
      'STORED_FORMAT_UNSUPPORTED',
      `Run '${workflowId}' was stored in snapshot format ${storedFormat} by a newer Flowstate; this build reads formats up to ${readableFormat}: upgrade Flowstate here to resume it (the run is left as stored for an engine that reads it)`,
      { workflowId },
    );
    this.storedFormat = storedFormat;
    this.readableFormat = readableFormat;
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
  /** `applied`: the run is in this engine, the signal applied to it, its commit not done in time (the store slow or down). */
  constructor(workflowId: string, timeoutMs: number, applied = false) {
    super(
      'SIGNAL_TIMEOUT',
      applied
        ? `The signal to run '${workflowId}' was applied here but not committed within ${timeoutMs} ms (the store is slow or down); it is written when the store takes it`
        : `No engine applied the signal to run '${workflowId}' within ${timeoutMs} ms; it stays queued for the run's next owner`,
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

/**
 * A plain, JSON-safe error, as stored in snapshots and journals. An agent's error of a documented code (the LLM
 * errors of `flowstate/ai`) also keeps its documented fields ({@link AgentErrorFields}: `status`, `retryAfterMs`,
 * `retryable`, `issues`).
 */
export interface SerializedError extends Omit<AgentErrorFields, 'issues'> {
  /** The error's class name, such as `StepFailedError` (`Error` for a thrown value that is not an error). */
  readonly name: string;
  /** The error's message. */
  readonly message: string;
  /** A Flowstate {@link ErrorCode}, or the `code` string of an agent's own error; absent when it had none. */
  readonly code?: string;
  /** The step the error belongs to, such as `analyze`, `child/inner` or `fanout[3]`. */
  readonly stepPath?: string;
  /** Step failures: how many agent attempts were made before the step gave up. */
  readonly attempts?: number;
  /** The original error's cause, serialized the same way (a chain is kept three levels deep). */
  readonly cause?: SerializedError;
  /** The compensations that failed while the run compensated after this error, in the order they ran. */
  readonly compensationErrors?: readonly SerializedError[];
  /** `INPUT_INVALID`: what was validated. */
  readonly subject?: ValidationSubject;
  /**
   * `INPUT_INVALID`, `OUTPUT_INVALID`: the problems found, each with its path; an `LLM_OUTPUT_INVALID` agent error's
   * have no `code`.
   */
  readonly issues?: readonly ValidationIssue[] | AgentErrorFields['issues'];
  /** `DEFINITION_INVALID`: the problems found, each with its path. */
  readonly problems?: readonly DefinitionProblem[];
  /** `VERSION_MISMATCH`: the version the run was started from. */
  readonly storedVersion?: string;
  /** `VERSION_MISMATCH`: the version registered now. */
  readonly currentVersion?: string;
  /** `STORED_FORMAT_UNSUPPORTED`: the format the run's snapshot was written in. */
  readonly storedFormat?: number;
  /** `STORED_FORMAT_UNSUPPORTED`: the newest format the build that refused it reads. */
  readonly readableFormat?: number;
}

/** The class of each error code and the fields of its own it carries when serialized. */
interface ErrorKind {
  /** The class a failure of this code is (and is rebuilt as); its name is the failure's `name`. */
  readonly type: abstract new (
    ...args: never[]
  ) => FlowstateError;
  /** Fields of the class besides the base ones, with the value a rebuilt error gets when the failure lacks one. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

const STEP_FIELDS = { attempts: 0 };

/**
 * The one table of error codes: every {@link ErrorCode} to its class. Failures built without an error object take
 * their `name` from it ({@link failureOf}), {@link serializeError} keeps the fields it lists, and
 * {@link fromSerialized} rebuilds a failure as an instance of the class.
 */
const ERRORS: { readonly [C in ErrorCode]: ErrorKind } = {
  DEFINITION_INVALID: { type: WorkflowDefinitionError, fields: { problems: [] } },
  INPUT_INVALID: { type: InputValidationError, fields: { subject: undefined, issues: [] } },
  OUTPUT_INVALID: { type: OutputValidationError, fields: { issues: [] } },
  CONFIGURATION_INVALID: { type: ConfigurationError },
  STEP_FAILED: { type: StepFailedError, fields: STEP_FIELDS },
  STEP_TIMEOUT: { type: StepTimeoutError, fields: STEP_FIELDS },
  ESCALATION_TIMEOUT: { type: EscalationTimeoutError, fields: STEP_FIELDS },
  WAIT_TIMEOUT: { type: WaitTimeoutError, fields: STEP_FIELDS },
  CANCELLED: { type: CancelledError },
  VERSION_MISMATCH: {
    type: DefinitionVersionError,
    fields: { storedVersion: undefined, currentVersion: undefined },
  },
  RUN_CORRUPTED: { type: CorruptRunError },
  STORED_FORMAT_UNSUPPORTED: {
    type: StoredFormatError,
    fields: { storedFormat: undefined, readableFormat: undefined },
  },
  RUN_NOT_FOUND: { type: FlowstateError },
  RUN_ID_TAKEN: { type: RunIdTakenError },
  LEASE_LOST: { type: LeaseLostError },
  RUN_OWNED: { type: RunOwnedError },
  SIGNAL_TIMEOUT: { type: SignalTimeoutError },
  STORE_UNAVAILABLE: { type: StoreFaultError },
  INTERNAL: { type: FlowstateError },
};

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

/**
 * The JSON-safe failure of a code, for a failure made without an error object (a step that gave up, a wait's
 * timeout, a loop's bound, a cancelled run): named after the code's class, `message` without the `[CODE] ` prefix.
 *
 * @example
 * ```ts
 * failureOf('WAIT_TIMEOUT', "No 'approved' event within 1000 ms", { stepPath: 'approval' });
 * ```
 */
export function failureOf(
  code: ErrorCode,
  message: string,
  fields: Omit<SerializedError, 'name' | 'message' | 'code'> = {},
): SerializedError {
  return { name: ERRORS[code].type.name, message, code, ...fields };
}

/**
 * Rebuilds a JSON-safe failure (from a snapshot, a store or another process) as an instance of its code's class,
 * with the same message, its class's fields, its cause (rebuilt the same way if it has a Flowstate code, else a plain
 * `Error` with the original name, message and code) and the failures of compensations that ran after it. An unknown code is rebuilt as `INTERNAL`.
 *
 * @example
 * ```ts
 * const error = fromSerialized(run.error, run.id); // error instanceof StepFailedError, error.stepPath...
 * ```
 */
export function fromSerialized(error: SerializedError, workflowId: string): FlowstateError {
  const code = isErrorCode(error.code) ? error.code : 'INTERNAL';
  const kind = ERRORS[code];
  const options: FlowstateErrorOptions = { workflowId };
  if (error.stepPath) options.stepPath = error.stepPath;
  if (error.cause) options.cause = toCause(error.cause, workflowId);
  // The base constructor with the class as `new.target`: an instance of the class (prototype, name and brand) that
  // keeps the stored message, where the class's own constructor would compose one from arguments not all stored.
  const rebuilt: FlowstateError = Reflect.construct(
    FlowstateError,
    [code, reasonOf(error), options],
    kind.type,
  );
  const stored = error as unknown as Readonly<Record<string, unknown>>;
  for (const [field, fallback] of Object.entries(kind.fields ?? {})) {
    const value = stored[field] ?? fallback;
    if (value !== undefined) Object.assign(rebuilt, { [field]: value });
  }
  if (error.compensationErrors) Object.assign(rebuilt, { compensationErrors: error.compensationErrors });
  return rebuilt;
}

/**
 * A serialized message without the `[CODE] ` its error's constructor put before it, so a rebuilt error does not get
 * it twice. Failures made by {@link failureOf} have none. The one place the prefix is taken off: by the known code.
 */
function reasonOf(error: SerializedError): string {
  const prefix = `[${error.code}] `;
  return error.code !== undefined && error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message;
}

/**
 * A stored cause as an error: a Flowstate failure (a step's timeout, a child workflow's failure) as an instance of its
 * class, so that `instanceof` works on it as on the error itself; an agent's own error as a plain `Error` with its
 * name, message and code (its class and other fields are not stored: they could hold anything, secrets included).
 */
function toCause(cause: SerializedError, workflowId: string): Error {
  if (isErrorCode(cause.code)) return fromSerialized(cause, workflowId);
  const error = new Error(
    cause.message,
    cause.cause ? { cause: toCause(cause.cause, workflowId) } : undefined,
  );
  error.name = cause.name;
  if (cause.code !== undefined)
    Object.assign(error, { code: cause.code, ...agentErrorFields(cause.code, cause) });
  return error;
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
    return withOwnFields(out, e);
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
    return withOwnFields(out, o);
  }
  return { name: 'Error', message: String(error) };
}

/**
 * `out` with the fields the table lists for its code (a validation error's issues...) that `source` has, or, for an
 * agent's error, the documented fields of its code (an LLM error's status or issues).
 */
function withOwnFields(out: SerializedError, source: object): SerializedError {
  if (!isErrorCode(out.code)) return Object.assign(out, agentErrorFields(out.code, source));
  const own = source as Readonly<Record<string, unknown>>;
  for (const field of Object.keys(ERRORS[out.code].fields ?? {})) {
    if (!(field in out) && own[field] !== undefined) Object.assign(out, { [field]: own[field] });
  }
  return out;
}

/** Renders an issue path as `a.b[2].c`; the root is `(root)`. */
export function formatPath(path: IssuePath): string {
  if (path.length === 0) return '(root)';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `  - ${formatPath(i.path)}: ${i.message}`).join('\n');
}
