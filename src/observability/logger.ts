import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

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
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  const settings = {
    level: process.env.FLOWSTATE_LOG_LEVEL ?? 'warn',
    redact: { paths, censor: '[redacted]' },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}
