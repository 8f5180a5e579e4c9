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
  const settings = {
    level: process.env.FLOWSTATE_LOG_LEVEL ?? 'warn',
    redact: { paths, censor: '[redacted]' },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}
