/**
 * The engine's side of `flowstate/bullmq`: hands step attempts to BullMQ workers and brings their results back.
 *
 * Results come back through QueueEvents (one Redis stream per queue, read with a blocking XREAD from the last id
 * seen, so a short disconnect loses nothing) rather than a results queue: no second write per step, no results
 * worker to own. What the stream cannot promise (an event trimmed away, an engine that attached after the event,
 * Redis restarted empty) a periodic check covers: every `checkEveryMs` each job this engine waits for is read by
 * id; a finished one is taken, a missing one (FLUSHALL, a crash without AOF) is added again under the same id.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentJob, AgentTransport } from '../machine/transport.js';
import { CancelledError } from '../model/errors.js';
import { createLogger } from '../observability/logger.js';
import {
  bullConnection,
  CANCEL_TTL_MS,
  CLOSE_WAIT_MS,
  cancelChannel,
  cancelKey,
  checkRedis,
  DEFAULT_PREFIX,
  FIELDS,
  type JobData,
  type JobResult,
  jobIdOf,
  parse,
  type RedisConnection,
  redisClient,
  settleWithin,
  sleep,
} from './redis.js';

/** Options of {@link bullmqTransport}. */
export interface BullmqTransportOptions {
  /** The Redis server the queues live on. */
  readonly connection: RedisConnection;
  /** The prefix of every Redis key (the workers' must match). @default 'flowstate' */
  readonly prefix?: string;
  /** How often the jobs in flight are checked (finished, or lost by Redis). @default 2_000 */
  readonly checkEveryMs?: number;
  /** How long a finished job (its result) is kept for an owner that re-attaches after a takeover. @default 1 h */
  readonly keepResultsMs?: number;
  /** Where connection errors and the Redis settings warnings go. @default a pino logger at `FLOWSTATE_LOG_LEVEL` or `warn` */
  readonly logger?: Logger;
}

/** Counts since the transport started, for monitoring and tests. */
export interface TransportStats {
  /** Jobs added to a queue. */
  readonly dispatched: number;
  /** Calls that found their job already in Redis (a re-dispatch after a takeover) and attached to it. */
  readonly reattached: number;
  /** Jobs Redis lost while in flight, added again. */
  readonly requeued: number;
  /** Jobs an engine aborted, that another owner still waited for and added again. */
  readonly rerun: number;
}

/** A transport for `createEngine({ transport })`; close it after the engine. */
export interface BullmqTransport extends AgentTransport {
  /** Resolves once connected, with the warnings of the Redis settings check (also logged). */
  ready(): Promise<string[]>;
  /** Attempts waiting for their result now. */
  readonly inFlight: number;
  /** Counts since the transport was made: jobs dispatched, re-attached, re-enqueued and re-run. */
  readonly stats: TransportStats;
  /** Stops the checks and closes the connections; calls still waiting reject with a `CancelledError`. */
  close(): Promise<void>;
}

interface Lane {
  readonly queue: Queue;
  readonly events: QueueEvents;
  readonly ready: Promise<unknown>;
}

interface Pending {
  readonly key: string;
  readonly id: string;
  readonly job: AgentJob;
  readonly lane: Lane;
  /** Known to be in Redis (added, or found there): the periodic check watches it. */
  added: boolean;
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

/**
 * A transport that runs step attempts as BullMQ jobs: job id = the attempt's idempotency key (a re-dispatch never
 * duplicates a job; an owner that took a run over attaches to its job and takes a result already there), one job
 * attempt (retries stay in the engine), cancellation through Redis pub/sub plus a key a late worker still sees.
 *
 * @example
 * ```ts
 * import { bullmqTransport } from 'flowstate/bullmq';
 * const transport = bullmqTransport({ connection: process.env.REDIS_URL! });
 * const engine = createEngine({ store, transport, defaultQueue: 'agents', workflows: [wf] });
 * // ... await engine.close(); await transport.close();
 * ```
 */
export function bullmqTransport(options: BullmqTransportOptions): BullmqTransport {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const logger = options.logger ?? createLogger();
  const keepSeconds = Math.ceil((options.keepResultsMs ?? 3_600_000) / 1000);
  const connection = bullConnection(options.connection);
  const redis: Redis = redisClient(options.connection);
  redis.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  const lanes = new Map<string, Lane>();
  const pending = new Map<string, Pending>();
  const stats = { dispatched: 0, reattached: 0, requeued: 0, rerun: 0 };
  const checked = checkRedis(redis, logger);
  let closed = false;

  /** The job's hash in Redis (BullMQ's key layout: prefix, queue, id). */
  const jobKey = (p: Pending) => `${prefix}:${p.job.queue}:${p.id}`;

  const laneOf = (name: string): Lane => {
    let lane = lanes.get(name);
    if (lane) return lane;
    const queue = new Queue(name, { connection, prefix });
    const events = new QueueEvents(name, { connection, prefix });
    // Connection errors are retried by ioredis forever; an `error` without a listener would crash the process.
    queue.on('error', (error) => logger.debug({ err: error, queue: name }, 'queue connection error'));
    events.on('error', (error) => logger.debug({ err: error, queue: name }, 'queue events error'));
    events.on('completed', ({ jobId, returnvalue }) => finished(name, jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => finished(name, jobId, undefined, failedReason));
    lane = { queue, events, ready: Promise.all([queue.waitUntilReady(), events.waitUntilReady()]) };
    lanes.set(name, lane);
    return lane;
  };

  /** Settles a call with a finished job's result; `false` if the job was an aborted attempt to run again. */
  const take = (p: Pending, returnvalue: unknown, failedReason?: string): boolean => {
    if (pending.get(p.key) !== p) return true;
    const result = returnvalue as JobResult | null | undefined;
    if (result && typeof result === 'object' && 'ok' in result) {
      if (result.ok) p.resolve(result.output);
      else if (result.cancelled) return false;
      else p.reject(Object.assign(new Error(result.error.message), result.error));
      return true;
    }
    // A BullMQ failure, not the agent's (stalled too often, lock lost): an attempt failure the policy may retry.
    p.reject(new Error(`Job ${p.id} failed in BullMQ: ${failedReason ?? 'no result'}`));
    return true;
  };

  const finished = (queue: string, jobId: string, returnvalue: unknown, failedReason?: string) => {
    const p = pending.get(`${queue}\0${jobId}`);
    if (p && !take(p, returnvalue, failedReason)) void rerun(p);
  };

  /** An attempt a previous owner aborted, which this one still waits for: removed, and added again. */
  const rerun = async (p: Pending) => {
    stats.rerun++;
    p.added = false;
    await p.lane.queue.remove(p.id).catch(() => {});
    await dispatch(p, true);
  };

  /** Adds the attempt's job, or attaches to the one already there; retried with backoff while Redis fails. */
  const dispatch = async (p: Pending, fresh = false): Promise<void> => {
    let delay = 50;
    while (pending.get(p.key) === p) {
      try {
        await p.lane.ready;
        // One round trip before the add: this owner wants the attempt to run, so a cancellation left by a previous
        // owner goes (a job that runs again must not meet it), and the job is read in case it exists already.
        const [, [, fields]] = (await redis
          .pipeline()
          .del(cancelKey(prefix, p.job.queue, p.id))
          .hmget(jobKey(p), ...FIELDS)
          .exec()) as [unknown, [unknown, (string | null)[]]];
        const [timestamp, finishedOn, returnvalue, failedReason] = fields;
        if (!fresh && timestamp !== null) {
          stats.reattached++;
          p.added = true;
          if (finishedOn === null) return; // waiting or active: its event will come
          if (take(p, parse(returnvalue), failedReason ?? undefined)) return;
          await rerun(p);
          return;
        }
        const { queue: _, agent, ...attempt } = p.job;
        const data: JobData = attempt;
        await p.lane.queue.add(agent, data, {
          jobId: p.id,
          attempts: 1,
          removeOnComplete: { age: keepSeconds },
          removeOnFail: { age: keepSeconds },
        });
        stats.dispatched++;
        p.added = true;
        return;
      } catch (error) {
        if (closed) return;
        logger.warn({ err: error, job: p.id, queue: p.job.queue }, 'dispatch failed, retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  };

  /** Reads every job in flight: takes the finished ones whose event was missed, adds again the ones Redis lost. */
  const check = async () => {
    const watched = [...pending.values()].filter((p) => p.added);
    if (watched.length === 0) return;
    const batch = redis.pipeline();
    for (const p of watched) batch.hmget(jobKey(p), ...FIELDS);
    const rows = (await batch.exec()) ?? [];
    watched.forEach((p, i) => {
      const [error, fields] = rows[i] ?? [new Error('no reply')];
      if (error || pending.get(p.key) !== p) return;
      const [timestamp, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
      if (timestamp === null) {
        stats.requeued++;
        logger.warn({ job: p.id, queue: p.job.queue }, 'job lost by Redis: added again');
        p.added = false;
        void dispatch(p, true);
      } else if (finishedOn !== null) {
        finished(p.job.queue, p.id, parse(returnvalue), failedReason ?? undefined);
      }
    });
  };
  const checkEveryMs = options.checkEveryMs ?? 2_000;
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    check()
      .catch((error) => logger.debug({ err: error }, 'in-flight check failed'))
      .finally(() => {
        checking = false;
      });
  }, checkEveryMs);
  timer.unref();

  /** Asks the workers to abort a job, and remembers it for a worker that takes the job later. */
  const cancel = (p: Pending, reason: unknown) => {
    // The reason's code travels too: the agent's signal says a timeout is a timeout (STEP_TIMEOUT), not a cancel.
    const notice = JSON.stringify({
      jobId: p.id,
      reason: reason instanceof Error ? reason.message : String(reason ?? 'cancelled'),
      code: (reason as { code?: unknown } | undefined)?.code,
    });
    redis
      .multi()
      .set(cancelKey(prefix, p.job.queue, p.id), notice, 'PX', CANCEL_TTL_MS)
      .publish(cancelChannel(prefix, p.job.queue), notice)
      .exec()
      .catch((error) => logger.debug({ err: error, job: p.id }, 'cancel not published'));
  };

  return {
    call(job, signal) {
      if (closed) return Promise.reject(new CancelledError('The BullMQ transport is closed'));
      if (signal.aborted) return Promise.reject(signal.reason);
      const id = jobIdOf(job.idempotencyKey);
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          if (pending.get(p.key) !== p) return;
          pending.delete(p.key);
          cancel(p, signal.reason);
          reject(signal.reason);
        };
        const end = () => {
          pending.delete(p.key);
          signal.removeEventListener('abort', onAbort);
        };
        const p: Pending = {
          key: `${job.queue}\0${id}`,
          id,
          job,
          lane: laneOf(job.queue),
          added: false,
          resolve: (output) => {
            end();
            resolve(output);
          },
          reject: (error) => {
            end();
            reject(error);
          },
        };
        pending.get(p.key)?.reject(new CancelledError('The attempt was dispatched again'));
        pending.set(p.key, p);
        signal.addEventListener('abort', onAbort, { once: true });
        void dispatch(p);
      });
    },
    ready: async () => {
      await Promise.all([...lanes.values()].map((lane) => lane.ready));
      return checked;
    },
    get inFlight() {
      return pending.size;
    },
    stats,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const p of [...pending.values()]) p.reject(new CancelledError('The BullMQ transport was closed'));
      // Closing politely needs Redis: while it is down, give up after a while and drop the connections.
      await settleWithin(
        [...lanes.values()].flatMap((lane) => [lane.events.close(), lane.queue.close()]),
        CLOSE_WAIT_MS,
      );
      if (!(await settleWithin([redis.quit()], CLOSE_WAIT_MS))) redis.disconnect();
    },
  };
}
