/** What a worker writes back as a job's result (see {@link JobResult}): an agent's output, or its error as data. */
import { serializeError } from '../model/errors.js';
import { type JobData, type JobResult, PROTOCOL_VERSION } from './redis.js';

/** A result stamped with the protocol version and the fingerprint of the job it answers (older engines ignore both). */
export function result(data: JobData, outcome: JobResult): JobResult {
  return {
    ...outcome,
    v: PROTOCOL_VERSION,
    ...(data.fingerprint !== undefined ? { fingerprint: data.fingerprint } : {}),
  };
}

/** An agent's error as a job result: JSON-safe, with `retryable: false` kept for the engine's policy. */
export function failure(error: unknown, cancelled: boolean): JobResult {
  const retryable = (error as { retryable?: unknown } | null)?.retryable === false;
  return {
    ok: false,
    error: { ...serializeError(error), ...(retryable ? { retryable: false as const } : {}) },
    ...(cancelled ? { cancelled: true as const } : {}),
  };
}
