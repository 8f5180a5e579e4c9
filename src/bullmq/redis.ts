/**
 * What the BullMQ transport and workers share: how a Redis connection is given, how an attempt's idempotency key
 * becomes a job id, where cancellations travel, what a finished job carries back, and the start-up check of the
 * Redis settings Flowstate relies on.
 */
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentJob } from '../machine/transport.js';
import type { SerializedError } from '../model/errors.js';

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

/** The data of a job: the attempt without its queue (the job's name is the agent). */
export type JobData = Omit<AgentJob, 'queue' | 'agent'>;

/**
 * What a finished job returns. An agent's error is a result too, not a BullMQ failure: the engine's retry policy
 * decides (BullMQ's own attempts stay at 1), and its `retryable`, `code` and `name` survive the trip (an LLM
 * error's `retryAfterMs`, `status` and `issues` too). `cancelled`
 * marks an attempt an engine aborted: an owner that still waits for it (it took the run over) runs it again.
 */
export type JobResult =
  | { readonly ok: true; readonly output: unknown }
  | {
      readonly ok: false;
      readonly error: SerializedError;
      readonly cancelled?: true;
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
