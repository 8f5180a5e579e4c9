import { createRequire } from 'node:module';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';

/** Keys whose values never reach a log line in clear, wherever they sit (two levels deep). */
const REDACTED_KEYS = ['password', 'secret', 'token', 'apiKey', 'authorization', 'connectionString'] as const;

/**
 * The engine's default logger: pino, JSON lines on stdout, level from `FLOWSTATE_LOG_LEVEL` (default `warn`),
 * with secrets redacted.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents, logger: createLogger({ level: 'debug' }) });
 * ```
 */
export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  // pino when a logger is made, not when the package is imported (an engine given its own logger never loads it
  // here). pino is CommonJS: `require` gives the very module an `import` of it would.
  const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  const err = (value: unknown) => logError(value, pino.stdSerializers.errWithCause, 0);
  const settings = {
    level: process.env.FLOWSTATE_LOG_LEVEL ?? 'warn',
    redact: { paths, censor: '[redacted]' },
    ...options,
    serializers: { err, ...options.serializers },
  };
  return destination ? pino(settings, destination) : pino(settings);
}

/** How deep causes are followed, as `serializeError` does: a cycle of causes must end. */
const MAX_CAUSES = 3;

/**
 * An `err` as a log line shows it. pino's serializer reads any object as an `Error`: an agent's or an LLM's
 * plain-object error (`{ message, code, issues }`, or a `SerializedError` crossing actors) came out as
 * `"type":"Object"`, `"stack":""` or `"\ncaused by: "`, its cause folded into the message and the cause's fields
 * lost. Here a plain object keeps its own fields (`name` as `type`, as pino names an error's class), with its cause
 * serialized the same way; a real `Error` whose causes are `Error`s is pino's as before, one with a plain-object
 * cause keeps pino's fields for itself and this for the cause.
 *
 * @example
 * ```ts
 * logError({ message: 'invalid answer', code: 'LLM_INVALID_ANSWER' }, pino.stdSerializers.errWithCause, 0);
 * // { message: 'invalid answer', code: 'LLM_INVALID_ANSWER' }
 * ```
 */
function logError(value: unknown, errorOf: (error: Error) => object, depth: number): unknown {
  if (value instanceof Error) {
    const cause = value.cause;
    if (cause === undefined || cause instanceof Error) return errorOf(value);
    // pino would fold a non-Error cause into the message and leave "caused by: " in the stack.
    const own = errorOf(Object.assign(Object.create(value), { cause: undefined })) as Record<string, unknown>;
    const { cause: _folded, ...rest } = own;
    const out: Record<string, unknown> = { ...rest, message: value.message, stack: value.stack };
    if (depth < MAX_CAUSES) out.cause = logError(cause, errorOf, depth + 1);
    return out;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const { name, cause, stack, ...fields } = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (typeof name === 'string' && name !== '') out.type = name;
  Object.assign(out, fields);
  // An empty stack (a serialized error drops it) says nothing.
  if (typeof stack === 'string' && stack.trim() !== '') out.stack = stack;
  if (cause !== undefined && cause !== null && depth < MAX_CAUSES)
    out.cause = logError(cause, errorOf, depth + 1);
  return out;
}
