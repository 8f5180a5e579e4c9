/**
 * The errors an LLM agent fails with, typed for the engine's retry policy: the engine owns retries (the AI SDK's
 * own are turned off), so a call error says whether a retry may help (`retryable`) and how long the server asked
 * to wait (`retryAfterMs`, which lengthens the step's backoff). Neither keeps the request (prompt, headers, key).
 */
import { APICallError, NoObjectGeneratedError, RetryError } from 'ai';
import type { ZodType } from 'zod';

/**
 * A model call failed: an HTTP error, a network error, an empty answer. Retryable for 408, 409, 429, 5xx and
 * network errors; not for the other 4xx (a bad key, an unknown model, a request the server refuses).
 *
 * @example
 * ```ts
 * if (error instanceof LlmCallError && error.status === 429) console.log(`retry after ${error.retryAfterMs} ms`);
 * ```
 */
export class LlmCallError extends Error {
  /** Read by the engine's retry policy (`false`: the step fails, falls back or escalates at once). */
  readonly retryable: boolean;
  readonly code = 'LLM_CALL_FAILED';
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The wait the server asked for (`retry-after-ms` or `retry-after`); the engine waits at least this long. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: { retryable: boolean; status?: number | undefined; retryAfterMs?: number | undefined },
  ) {
    super(message);
    this.name = 'LlmCallError';
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The model answered, but not with what the `output` schema asks: not JSON, or JSON with problems. Not retried
 * by the engine (`retryable: false`): a template that wants another try feeds the problems back instead.
 *
 * @example
 * ```ts
 * if (error instanceof LlmOutputError) for (const i of error.issues) console.log(i.path.join('.'), i.message);
 * ```
 */
export class LlmOutputError extends Error {
  readonly retryable = false;
  readonly code = 'LLM_OUTPUT_INVALID';
  /** Each problem with its path in the answer (`[]` for the whole answer). */
  readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
  constructor(agent: string, issues: LlmOutputError['issues']) {
    const shown = issues
      .slice(0, 10)
      .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    super(`LLM agent '${agent}' returned invalid output: ${shown}`);
    this.name = 'LlmOutputError';
    this.issues = issues;
  }
}

/**
 * The wait a response asks for before a retry, in ms: `retry-after-ms` (OpenAI), else `retry-after` in seconds or
 * as an HTTP date. `undefined` when absent or unreadable.
 */
export function retryAfterMs(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  now = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const get = (name: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  const ms = Number(get('retry-after-ms'));
  if (get('retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const after = get('retry-after');
  if (after === undefined || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * An AI SDK error as an {@link LlmCallError} or {@link LlmOutputError}. The message is scrubbed of the values of
 * `*_API_KEY` environment variables: a provider may echo a key back in its error text, and the message reaches the
 * step's snapshot, events and log.
 */
export function toLlmError(error: unknown, agent: string, schema: ZodType): Error {
  const e = RetryError.isInstance(error) ? error.lastError : error;
  if (NoObjectGeneratedError.isInstance(e)) return new LlmOutputError(agent, outputIssues(e.text, schema, e));
  if (APICallError.isInstance(e)) {
    const status = e.statusCode;
    const retryable = e.isRetryable || status === undefined;
    return new LlmCallError(
      scrubKeys(`LLM agent '${agent}': ${e.message}${status ? ` (HTTP ${status})` : ''}`),
      {
        retryable,
        status,
        retryAfterMs: retryable ? retryAfterMs(e.responseHeaders) : undefined,
      },
    );
  }
  const message = e instanceof Error ? e.message : String(e);
  // Anything else (a network failure, an empty answer) is worth another try.
  return new LlmCallError(scrubKeys(`LLM agent '${agent}': ${message}`), { retryable: true });
}

/** The problems of a raw answer against the schema, with their paths. */
function outputIssues(text: string | undefined, schema: ZodType, error: Error): LlmOutputError['issues'] {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    return [{ path: [], message: `not JSON (${scrubKeys(error.message)})` }];
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return parsed.error.issues.map((i) => ({ path: i.path, message: i.message }));
  return [{ path: [], message: scrubKeys(error.message) }];
}

function scrubKeys(text: string): string {
  let out = text;
  for (const [name, value] of Object.entries(process.env)) {
    if (value && value.length >= 8 && /_API_KEY$/.test(name)) out = out.split(value).join('[redacted]');
  }
  return out;
}
