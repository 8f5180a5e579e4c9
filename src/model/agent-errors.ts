/**
 * The fields an agent's error keeps when serialized, for the codes whose fields are documented: the LLM errors of
 * `flowstate/ai` (docs/ai.md). Any other agent error keeps only its name, message and code: its other fields could
 * hold anything (a request, headers, a key). These are kept only with the shape documented, so an error that merely
 * claims the code carries nothing else through.
 */

/** One problem of an LLM's answer, with its path in the answer. */
export interface AgentErrorIssue {
  /** As `IssuePath` in errors.ts (which imports this file: the type is spelled here to keep the import one way). */
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/** The documented fields of an agent's error, as serialized. */
export interface AgentErrorFields {
  /** `LLM_CALL_FAILED`: the HTTP status, when the server answered. */
  readonly status?: number;
  /** `LLM_CALL_FAILED`: the wait the server asked for before a retry, in ms. */
  readonly retryAfterMs?: number;
  /** `LLM_CALL_FAILED`, `LLM_OUTPUT_INVALID`: whether another attempt may help. */
  readonly retryable?: boolean;
  /** `LLM_OUTPUT_INVALID`: the problems of the answer, each with its path. */
  readonly issues?: readonly AgentErrorIssue[];
}

type Reader = (value: unknown) => unknown;

/** At most this many issues are kept, as many as a step's log shows are plenty to fix a prompt. */
const MAX_ISSUES = 100;

const integer: Reader = (v) => (Number.isInteger(v) ? v : undefined);
const delay: Reader = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const flag: Reader = (v) => (typeof v === 'boolean' ? v : undefined);
const issues: Reader = (v) => {
  if (!Array.isArray(v)) return undefined;
  const out: AgentErrorIssue[] = [];
  for (const issue of v.slice(0, MAX_ISSUES)) {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    if (typeof message !== 'string' || !Array.isArray(path)) return undefined;
    if (!path.every((k) => typeof k === 'string' || typeof k === 'number')) return undefined;
    out.push({ path: [...path], message });
  }
  return out;
};

/** The fields each documented agent error code keeps, with the reader that checks a value's shape. */
const FIELDS: Readonly<Record<string, Readonly<Record<keyof AgentErrorFields, Reader | undefined>>>> = {
  LLM_CALL_FAILED: { status: integer, retryAfterMs: delay, retryable: flag, issues: undefined },
  LLM_OUTPUT_INVALID: { status: undefined, retryAfterMs: undefined, retryable: flag, issues },
};

/**
 * The documented fields of an agent's error of this code that `source` has with their documented shape; `{}` for
 * any other code.
 *
 * @example
 * ```ts
 * agentErrorFields('LLM_CALL_FAILED', error); // { status: 429, retryAfterMs: 1500, retryable: true }
 * ```
 */
export function agentErrorFields(code: string | undefined, source: object): AgentErrorFields {
  const readers = code === undefined || !Object.hasOwn(FIELDS, code) ? undefined : FIELDS[code];
  if (!readers) return {};
  const own = source as Readonly<Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const [field, read] of Object.entries(readers)) {
    const value = read?.(own[field]);
    if (value !== undefined) out[field] = value;
  }
  return out;
}
