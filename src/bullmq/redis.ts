/**
 * What the BullMQ transport and workers share: how a Redis connection is given, how an attempt's idempotency key
 * becomes a job id, where cancellations travel, what a finished job carries back, and the start-up check of the
 * Redis settings Flowstate relies on.
 */
import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentJob } from '../machine/transport.js';
import { ConfigurationError, type SerializedError } from '../model/errors.js';
import { isName } from '../model/names.js';

/** A Redis server: a URL (`redis://user:pass@host:6379/0`, `rediss://` for TLS) or ioredis options. */
export type RedisConnection = string | RedisOptions;

/** The Redis key prefix of Flowstate's queues and keys. @default 'flowstate' */
export const DEFAULT_PREFIX = 'flowstate';

/**
 * Options for BullMQ's own connections. Reconnect forever and never fail a command while Redis is away
 * (`maxRetriesPerRequest: null`): a queue add or a worker's blocking read waits for Redis instead of throwing
 * after 20 retries, which is what leaves a worker silently idle after an outage.
 */
export function bullConnection(connection: RedisConnection): ConnectionOptions {
  const base = typeof connection === 'string' ? { url: connection } : connection;
  return { ...base, maxRetriesPerRequest: null, retryStrategy: reconnectDelay } as ConnectionOptions;
}

/** A plain ioredis client (pub/sub, checks) with the same reconnect-forever settings. */
export function redisClient(connection: RedisConnection): Redis {
  const options = { maxRetriesPerRequest: null, retryStrategy: reconnectDelay };
  // ioredis's option types do not admit `undefined` under exactOptionalPropertyTypes; these are plain ioredis options.
  return typeof connection === 'string'
    ? new Redis(connection, options as never)
    : new Redis({ ...connection, ...options } as never);
}

/** 50 ms doubling to 2 s, forever: a restarted Redis is picked up within 2 s of being back. */
function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2_000);
}

/**
 * The job id of an attempt: its idempotency key with `%` and `:` escaped (BullMQ refuses `:` in custom ids), so
 * one attempt is one job, whoever dispatches it and however often.
 */
export function jobIdOf(idempotencyKey: string): string {
  return idempotencyKey.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/** The pub/sub channel on which the engines ask a queue's workers to abort a job. */
export function cancelChannel(prefix: string, queue: string): string {
  return `${prefix}:flowstate-cancel:${queue}`;
}

/**
 * The key that remembers a cancellation (for an hour) for a worker that was not subscribed when it was published,
 * or that takes the job later.
 */
export function cancelKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}:flowstate-cancel:${queue}:${jobId}`;
}

/** How long a cancellation is remembered. */
export const CANCEL_TTL_MS = 3_600_000;

/**
 * The version of what jobs and results carry. Version 1 added `v` and `fingerprint` to both; a reader ignores the
 * fields it does not know (jobs and results of earlier builds have neither, and are read as before), so adding a field
 * keeps the version. A worker hands back a job of a version it does not know (a newer engine during a rolling
 * upgrade) instead of running it: bump the version only for a change older workers must not run.
 */
export const PROTOCOL_VERSION = 1;

/**
 * The data of a job: the attempt without its queue (the job's name is the agent), with the protocol version and the
 * attempt's fingerprint (see {@link fingerprintOf}). Both are absent from the jobs of earlier builds.
 */
export type JobData = Omit<AgentJob, 'queue' | 'agent'> & {
  readonly v?: number;
  readonly fingerprint?: string;
};

/**
 * What an attempt asks of its agent, as a short hash: the agent's name and the input's JSON. A job id is the attempt's
 * idempotency key (`runId:step:attempt`), which a later run given the same id (`start(..., { id })` again once the
 * first ended, a pruned id used again, a migration's `restart` with a new input) has too: a finished job under that id
 * may be another run's. An engine attaches to a job only when its fingerprint is the attempt's (else it replaces it),
 * and a result carries the fingerprint of the job it answers. An engine that took a run over after a crash computes
 * the same fingerprint (the step's input is in its stored snapshot), so it still finds the job it dispatched.
 */
export function fingerprintOf(agent: string, inputJson: string | undefined): string {
  return createHash('sha256')
    .update(agent)
    .update('\0')
    .update(inputJson ?? '')
    .digest('base64url')
    .slice(0, 22);
}

/**
 * A step's input (engine side) or an agent's output (worker side) that JSON cannot carry (a BigInt, a circular
 * object): the attempt fails with it, not retryable (an attempt again would carry the same value). Code `NOT_JSON`.
 */
export class NotJsonError extends Error {
  override readonly name = 'NotJsonError';
  readonly code = 'NOT_JSON';
  readonly retryable = false;
}

/**
 * A worker that cannot run a job (it has no agent of the job's name, or the job is of a protocol version it does not
 * know) handed it back to the queue for about a minute and no other worker took it: retryable (a worker that has the
 * agent may be on its way, as in a rolling upgrade). Code `AGENT_NOT_ON_WORKER`.
 */
export class AgentNotOnWorkerError extends Error {
  override readonly name = 'AgentNotOnWorkerError';
  readonly code = 'AGENT_NOT_ON_WORKER';
}

/**
 * Throws a `ConfigurationError` naming `what` unless `queue` is a name a step may give as its `queue` (a letter, then
 * letters, digits, `_` or `-`): any other queue (`'a:b'`, `''`, `'my queue'`) could never carry a step's job.
 */
export function checkQueueName(queue: unknown, what: string): void {
  if (!isName(queue)) {
    throw new ConfigurationError(
      `${what}: ${typeof queue === 'string' ? `'${queue}'` : String(queue)} is not a queue name a step can use: start with a letter and use only letters, digits, '_' or '-' (at most 128), as in step(name, { queue })`,
    );
  }
}

/**
 * What a finished job returns. An agent's error is a result too, not a BullMQ failure: the engine's retry policy
 * decides (BullMQ's own attempts stay at 1), and its `retryable`, `code` and `name` survive the trip (an LLM
 * error's `retryAfterMs`, `status` and `issues` too). `cancelled`
 * marks an attempt an engine aborted: an owner that still waits for it (it took the run over) runs it again.
 */
export type JobResult = (
  | { readonly ok: true; readonly output: unknown }
  | {
      readonly ok: false;
      readonly error: SerializedError;
      readonly cancelled?: true;
    }
) & {
  /** {@link PROTOCOL_VERSION}; absent from the results of earlier builds. */
  readonly v?: number;
  /** The fingerprint of the job answered (when it had one): an engine takes only the results of its attempt. */
  readonly fingerprint?: string;
};

/**
 * Checks the Redis settings a queue relies on and logs a warning for each problem: an eviction policy other than
 * `noeviction` (Redis may drop jobs under memory pressure), and no persistence (a restart loses every job; the
 * engines re-enqueue theirs, but the attempts in flight run again). Returns the warnings; a server that refuses
 * `CONFIG` (managed Redis) gets one warning saying it could not be checked.
 */
export async function checkRedis(client: Redis, logger: Logger): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const [, policy] = (await client.config('GET', 'maxmemory-policy')) as string[];
    const [, aof] = (await client.config('GET', 'appendonly')) as string[];
    const [, save] = (await client.config('GET', 'save')) as string[];
    if (policy !== 'noeviction') {
      warnings.push(
        `Redis maxmemory-policy is '${policy}': Redis may evict queued jobs under memory pressure; set it to 'noeviction'`,
      );
    }
    if (aof !== 'yes') {
      warnings.push(
        save
          ? 'Redis appendonly is off: a crash loses the jobs since the last RDB snapshot (they are re-enqueued by their engines and run again); set appendonly yes'
          : 'Redis has no persistence (appendonly no, no save points): a restart loses every job (they are re-enqueued by their engines and run again); set appendonly yes',
      );
    }
  } catch (error) {
    warnings.push(
      `Redis settings could not be checked (${(error as Error).message}): make sure maxmemory-policy is noeviction and appendonly is yes`,
    );
  }
  for (const warning of warnings) logger.warn(warning);
  return warnings;
}

/** How long `close()` waits for Redis to answer before dropping the connections. */
export const CLOSE_WAIT_MS = 2_000;

/** Whether every promise settled within `ms`. */
export async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = await Promise.race([Promise.allSettled(promises).then(() => true), late]);
  clearTimeout(timer);
  return done;
}

/** A job's stored return value (JSON), or `undefined`. */
export function parse(returnvalue: string | null | undefined): unknown {
  return returnvalue ? JSON.parse(returnvalue) : undefined;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The fields of a job's hash the transport reads: whether it exists, whether it finished, and how. */
export const FIELDS = ['timestamp', 'finishedOn', 'returnvalue', 'failedReason'] as const;

/** The job's fingerprint in its stored data (JSON), or `undefined` (a job of an earlier build, or not JSON). */
export function fingerprintInData(data: string | null | undefined): string | undefined {
  if (!data) return undefined;
  // Written first in the data (see the transport's dispatch): read without parsing a big input.
  const head = /^\{"v":\d+,"fingerprint":"([A-Za-z0-9_-]+)"/.exec(data);
  if (head) return head[1];
  try {
    const fingerprint = (JSON.parse(data) as { fingerprint?: unknown } | null)?.fingerprint;
    return typeof fingerprint === 'string' ? fingerprint : undefined;
  } catch {
    return undefined;
  }
}
