/**
 * The engine's side of `flowstate/bullmq`: hands step attempts to BullMQ workers and brings their results back.
 *
 * Results come back through QueueEvents (one Redis stream per queue, read with a blocking XREAD from the last id
 * seen, so a short disconnect loses nothing) rather than a results queue: no second write per step, no results
 * worker to own. What the stream cannot promise (an event trimmed away, an engine that attached after the event,
 * Redis restarted empty) a periodic check covers: every `checkEveryMs` each job this engine waits for is read by
 * id; a finished one is taken, a missing one (FLUSHALL, a crash without AOF) is added again under the same id.
 *
 * This file wires the parts beside it: adding or attaching to a job and taking its result (`transport-attach.ts`),
 * the periodic check (`transport-check.ts`), cancellation (`transport-cancel.ts`), and what they share
 * (`transport-state.ts`).
 */
import { Queue, QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import type { AgentTransport } from '../machine/transport.js';
import { CancelledError } from '../model/errors.js';
import { createLogger } from '../observability/logger.js';
import {
  bullConnection,
  CLOSE_WAIT_MS,
  checkQueueName,
  checkRedis,
  DEFAULT_PREFIX,
  fingerprintOf,
  type JobData,
  jobIdOf,
  NotJsonError,
  PROTOCOL_VERSION,
  type RedisConnection,
  redisClient,
  settleWithin,
} from './redis.js';
import { dispatch, finished } from './transport-attach.js';
import { cancel } from './transport-cancel.js';
import { startChecks } from './transport-check.js';
import type { Lane, Pending, TransportState, TransportStats } from './transport-state.js';

// Public as `flowstate/bullmq`'s (src/bullmq/index.ts); it lives with the state the transport's parts share.
export type { TransportStats } from './transport-state.js';

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
  const logger = options.logger ?? createLogger();
  const connection = bullConnection(options.connection);
  const state: TransportState = {
    prefix: options.prefix ?? DEFAULT_PREFIX,
    logger,
    keepSeconds: Math.ceil((options.keepResultsMs ?? 3_600_000) / 1000),
    redis: redisClient(options.connection),
    pending: new Map(),
    stats: { dispatched: 0, reattached: 0, requeued: 0, rerun: 0, replaced: 0, removed: 0 },
    closed: false,
  };
  const { prefix, redis, pending, stats } = state;
  redis.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  const lanes = new Map<string, Lane>();
  const checked = checkRedis(redis, logger);

  const laneOf = (name: string): Lane => {
    let lane = lanes.get(name);
    if (lane) return lane;
    const queue = new Queue(name, { connection, prefix });
    const events = new QueueEvents(name, { connection, prefix });
    // Connection errors are retried by ioredis forever; an `error` without a listener would crash the process.
    queue.on('error', (error) => logger.debug({ err: error, queue: name }, 'queue connection error'));
    events.on('error', (error) => logger.debug({ err: error, queue: name }, 'queue events error'));
    events.on('completed', ({ jobId, returnvalue }) =>
      finished(state, name, jobId, returnvalue, undefined, false),
    );
    events.on('failed', ({ jobId, failedReason }) =>
      finished(state, name, jobId, undefined, failedReason, false),
    );
    lane = { queue, events, ready: Promise.all([queue.waitUntilReady(), events.waitUntilReady()]) };
    lanes.set(name, lane);
    return lane;
  };

  const timer = startChecks(state, options.checkEveryMs ?? 2_000);

  return {
    call(job, signal) {
      if (state.closed) return Promise.reject(new CancelledError('The BullMQ transport is closed'));
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
          cancel(state, p, signal.reason);
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
        void dispatch(state, p);
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
      if (state.closed) return;
      state.closed = true;
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
