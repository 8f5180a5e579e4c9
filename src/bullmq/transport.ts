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
  checkQueueName,
  checkRedis,
  DEFAULT_PREFIX,
  FIELDS,
  fingerprintInData,
  fingerprintOf,
  type JobData,
  type JobResult,
  jobIdOf,
  NotJsonError,
  PROTOCOL_VERSION,
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
  /**
   * Jobs of another run found under an attempt's id (a run id used again while the earlier run's job was still in
   * Redis), replaced by this attempt's job instead of taken.
   */
  readonly replaced: number;
  /** Jobs still waiting in their queue when their attempt was cancelled or timed out, removed from it. */
  readonly removed: number;
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
  /** What the job carries. */
  readonly data: JobData;
  /** The attempt's {@link fingerprintOf}: its agent and input. */
  readonly fingerprint: string;
  /** Known to be in Redis (added, or found there): the periodic check watches it. */
  added: boolean;
  /** The job under the attempt's id is another run's, still running: replaced once it ends. */
  foreign: boolean;
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

/**
 * A transport that runs step attempts as BullMQ jobs: job id = the attempt's idempotency key (a re-dispatch never
 * duplicates a job; an owner that took a run over attaches to its job and takes a result already there), one job
 * attempt (retries stay in the engine), cancellation through Redis pub/sub plus a key a late worker still sees (and
 * the removal of a job still waiting in its queue).
 *
 * The id alone does not tell run instances apart: a run id may be used again (once the run ended without a store, once
 * pruned, or by a migration's `restart`) while its earlier jobs are kept for `keepResultsMs`. What the transport sees of
 * an attempt is its key, agent and input, and no instance of the run (the engine passes none; the key is also the one
 * the agent sees, so it stays as it is). Each job therefore carries its attempt's fingerprint (agent and input JSON,
 * {@link fingerprintOf}): a dispatch attaches only to a job with the same fingerprint, and replaces another run's
 * (removed, or waited for and replaced if it still runs). A crashed engine's successor computes the same fingerprint
 * from the stored snapshot, so it re-attaches and never dispatches the attempt twice. A run id used again with the
 * same input takes the earlier result within `keepResultsMs`: the same key and input is the same attempt for an agent
 * that keys its effects on `ctx.idempotencyKey`, as agents are asked to (docs/distributed.md, Limits).
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
  const stats = { dispatched: 0, reattached: 0, requeued: 0, rerun: 0, replaced: 0, removed: 0 };
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
    events.on('completed', ({ jobId, returnvalue }) => finished(name, jobId, returnvalue, undefined, false));
    events.on('failed', ({ jobId, failedReason }) => finished(name, jobId, undefined, failedReason, false));
    lane = { queue, events, ready: Promise.all([queue.waitUntilReady(), events.waitUntilReady()]) };
    lanes.set(name, lane);
    return lane;
  };

  /**
   * Settles a call with a finished job's result; `false` if the job is not to be taken but run again: an attempt an
   * engine aborted, or another run's job under the attempt's id. `current`: the result was read from the job's hash
   * now (not from an event, which may be a late one of the job this attempt's replaced: ignored).
   */
  const take = (p: Pending, returnvalue: unknown, failedReason?: string, current = true): boolean => {
    if (pending.get(p.key) !== p) return true;
    const result = returnvalue as JobResult | null | undefined;
    const isResult = result !== null && typeof result === 'object' && 'ok' in result;
    if (isResult && result.fingerprint !== undefined && result.fingerprint !== p.fingerprint) {
      if (!current && !p.foreign) return true;
      p.foreign = true;
    }
    if (p.foreign) return false;
    if (isResult) {
      if (result.ok) p.resolve(result.output);
      else if (result.cancelled) return false;
      else p.reject(Object.assign(new Error(result.error.message), result.error));
      return true;
    }
    const queue = p.job.queue;
    // A BullMQ failure, not the agent's (stalled too often, lock lost): an attempt failure the policy may retry.
    if (failedReason !== undefined)
      p.reject(new Error(`Job ${p.id} on queue '${queue}' failed in BullMQ: ${failedReason}`));
    else
      p.reject(
        new Error(
          `Job ${p.id} on queue '${queue}' completed without a Flowstate result (it returned ${shapeOf(returnvalue)}): a consumer that is not a Flowstate worker takes the jobs of queue '${queue}'. Only \`flowstate worker\` or createWorker from flowstate/bullmq may consume a step's queue`,
        ),
      );
    return true;
  };

  const finished = (
    queue: string,
    jobId: string,
    returnvalue: unknown,
    failedReason: string | undefined,
    current: boolean,
  ) => {
    const p = pending.get(`${queue}\0${jobId}`);
    if (p && !take(p, returnvalue, failedReason, current)) void rerun(p);
  };

  /**
   * A job not to take (an attempt a previous owner aborted, which this one still waits for; another run's job under
   * the attempt's id): removed, and the attempt added again.
   */
  const rerun = async (p: Pending) => {
    if (p.foreign) stats.replaced++;
    else stats.rerun++;
    p.added = false;
    p.foreign = false;
    await p.lane.queue.remove(p.id).catch(() => {});
    await dispatch(p, true);
  };

  /** Adds the attempt's job, or attaches to the one already there; retried with backoff while Redis fails. */
  const dispatch = async (p: Pending, fresh = false): Promise<void> => {
    let delay = 50;
    while (pending.get(p.key) === p) {
      try {
        await p.lane.ready;
        // Cancelled meanwhile: its cancellation (sent on this connection) must not be deleted below.
        if (pending.get(p.key) !== p) return;
        // One round trip before the add: this owner wants the attempt to run, so a cancellation left by a previous
        // owner goes (a job that runs again must not meet it), and the job is read in case it exists already.
        const [, [, fields]] = (await redis
          .pipeline()
          .del(cancelKey(prefix, p.job.queue, p.id))
          .hmget(jobKey(p), ...FIELDS, 'data')
          .exec()) as [unknown, [unknown, (string | null)[]]];
        const [timestamp, finishedOn, returnvalue, failedReason, stored] = fields;
        if (!fresh && timestamp !== null) {
          const theirs = fingerprintInData(stored);
          // A job without a fingerprint is an earlier build's: taken as this attempt's, as it was then.
          if (theirs === undefined || theirs === p.fingerprint) {
            stats.reattached++;
            p.added = true;
            if (finishedOn === null) return; // waiting or active: its event will come
            if (take(p, parse(returnvalue), failedReason ?? undefined)) return;
            await rerun(p);
            return;
          }
          // Another run's job under this attempt's id (the run id was used again): never its result. Removed if it
          // is not running (then this attempt's job is added below); else told to stop and replaced once it ends.
          logger.warn(
            { job: p.id, queue: p.job.queue },
            "another run's job holds this attempt's id (a run id used again): replaced",
          );
          if ((await p.lane.queue.remove(p.id)) !== 1) {
            p.foreign = true;
            p.added = true;
            cancel(p, new CancelledError('Replaced by a new run with the same id'));
            return;
          }
          stats.replaced++;
        }
        if (pending.get(p.key) !== p) return;
        await p.lane.queue.add(p.job.agent, p.data, {
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
        finished(p.job.queue, p.id, parse(returnvalue), failedReason ?? undefined, true);
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

  /**
   * Removes an aborted attempt's job if it still waits in its queue (waiting, or delayed by a worker that handed it
   * back): no worker takes it then. A job being taken at that moment is locked and stays (its worker reads the
   * cancellation before calling the agent); a finished one stays for an owner that took the run over.
   */
  const removeWaiting = async (p: Pending) => {
    const state = await p.lane.queue.getJobState(p.id);
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return;
    if ((await p.lane.queue.remove(p.id)) === 1) stats.removed++;
  };

  /**
   * Asks the workers to abort a job, remembers it for a worker that takes the job later, and removes the job if it
   * still waits in its queue.
   */
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
      .then(() => (p.foreign ? undefined : removeWaiting(p)))
      .catch((error) => logger.debug({ err: error, job: p.id }, 'cancel not published'));
  };

  return {
    call(job, signal) {
      if (closed) return Promise.reject(new CancelledError('The BullMQ transport is closed'));
      if (signal.aborted) return Promise.reject(signal.reason);
      // A queue BullMQ refuses (':') or no step could name fails the attempt, not retryable (never a dispatch retried
      // forever); `createEngine` checks its `defaultQueue` the same way.
      try {
        checkQueueName(job.queue, `The queue of step '${job.stepPath}'`);
      } catch (error) {
        return Promise.reject(Object.assign(error as Error, { retryable: false }));
      }
      // Serialized here once: a value JSON cannot carry (a BigInt, a circular object) fails the attempt at once, not
      // retryable, instead of a dispatch retried forever as if Redis were down. The JSON is the fingerprint's too.
      let inputJson: string | undefined;
      try {
        inputJson = JSON.stringify(job.input);
      } catch (error) {
        return Promise.reject(
          new NotJsonError(
            `The input of step '${job.stepPath}' (attempt ${job.attempt}) cannot be sent to queue '${job.queue}': JSON cannot carry it (${(error as Error).message}). Give a step on a queue JSON values (a BigInt as a string, no cycles), or run it in the engine's process`,
            { cause: error },
          ),
        );
      }
      const id = jobIdOf(job.idempotencyKey);
      const fingerprint = fingerprintOf(job.agent, inputJson);
      const { queue: _, agent: __, ...attempt } = job;
      // `v` and `fingerprint` first: a reader finds the fingerprint without parsing the input (fingerprintInData).
      const data: JobData = { v: PROTOCOL_VERSION, fingerprint, ...attempt };
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
          data,
          lane: laneOf(job.queue),
          fingerprint,
          added: false,
          foreign: false,
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

/** What a consumer that is not a Flowstate worker returned, in a few words (never its values). */
function shapeOf(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length === 0
      ? 'an empty object'
      : `an object with ${keys
          .slice(0, 5)
          .map((k) => `'${k}'`)
          .join(', ')}${keys.length > 5 ? '...' : ''}`;
  }
  return `a ${typeof value}`;
}
