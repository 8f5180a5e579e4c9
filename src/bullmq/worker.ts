/**
 * The workers' side of `flowstate/bullmq`: runs the agents of a queue's jobs with the context an in-process agent
 * gets, aborts them when their engine cancels or their timeout passes, and returns their output or error as the
 * job's result (see {@link JobResult}).
 *
 * This file wires the parts beside it: running a job (`worker-process.ts`), the cancellations (`worker-cancel.ts`),
 * the jobs handed back (`worker-hand-back.ts`), the results (`worker-results.ts`), the close with Redis down
 * (`worker-close.ts`), and what they share (`worker-state.ts`).
 */
import { hostname } from 'node:os';
import { type RateLimiterOptions, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { AgentRegistry } from '../model/agent.js';
import { createLogger } from '../observability/logger.js';
import {
  bullConnection,
  checkQueueName,
  checkRedis,
  DEFAULT_PREFIX,
  type JobData,
  type JobResult,
  type RedisConnection,
  redisClient,
} from './redis.js';
import { listenForCancels } from './worker-cancel.js';
import { workerCloser } from './worker-close.js';
import { jobProcessor } from './worker-process.js';
import type { WorkerState } from './worker-state.js';

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** The Redis server the queue lives on. */
  readonly connection: RedisConnection;
  /** The queue to consume: the `queue` of the steps (or the engine's `defaultQueue`). */
  readonly queue: string;
  /** The agents jobs name, as in `createEngine({ agents })`. */
  readonly agents: AgentRegistry;
  /** Jobs run at once in this process. @default 1 */
  readonly concurrency?: number;
  /** BullMQ's rate limit for the whole queue, across workers: at most `max` jobs per `duration` ms. */
  readonly limiter?: RateLimiterOptions;
  /** The prefix of every Redis key (the engines' must match). @default 'flowstate' */
  readonly prefix?: string;
  /**
   * How long a job's lock lasts without renewal: a worker that died holding a job gives it up (to another worker,
   * the same attempt again) within about twice this. @default 30_000 (BullMQ's)
   */
  readonly lockDurationMs?: number;
  /** The parent of each agent's `ctx.logger`, and where connection errors go. @default a pino logger at `FLOWSTATE_LOG_LEVEL` or `warn` */
  readonly logger?: Logger;
  /** This worker's name in logs and errors. @default `<host name>:<pid>` */
  readonly name?: string;
  /**
   * How long a job this worker cannot run (no agent of its name: another version of the agents, in a rolling upgrade)
   * is handed back to the queue, for a worker that has the agent, before its attempt fails (retryable) with
   * `AGENT_NOT_ON_WORKER`. @default 60_000
   */
  readonly handBackForMs?: number;
}

/** A running worker. */
export interface FlowstateWorker {
  /** Resolves once connected, with the warnings of the Redis settings check (also logged). */
  ready(): Promise<string[]>;
  /** Jobs running now. */
  readonly running: number;
  /** Jobs finished by this worker (done, failed or cancelled). */
  readonly processed: number;
  /** Jobs taken whose attempt had been cancelled (or had timed out) already: finished without calling the agent. */
  readonly skipped: number;
  /** Times this worker handed a job back to the queue because it lacks the job's agent. */
  readonly handedBack: number;
  /**
   * Stops taking jobs; waits for the running ones unless `force` (their agents are aborted then). What follows needs
   * Redis (the last results, the connections' goodbyes): after the running jobs it waits at most about 2 s, then
   * drops the connections, so a worker closes while Redis is down (a result it could not write runs again elsewhere
   * once the job's lock passes).
   */
  close(force?: boolean): Promise<void>;
}

/**
 * Runs the agents of a queue's jobs. Each agent gets the `ctx` of an in-process call: `signal` (fires when the
 * engine aborts the attempt, on its timeout, or when BullMQ takes the job back), `attempt`, `idempotencyKey`,
 * `workflowId`, `step` and a `logger` bound to them. An agent's error becomes the job's result, so the engine's
 * retry policy decides (BullMQ attempts stay 1). A job whose attempt was cancelled or timed out before it was taken is
 * finished without calling its agent; a job whose agent this worker lacks is handed back to the queue (see
 * `handBackForMs`). Throws a `ConfigurationError` for a queue no step could name (`'a:b'`, `''`, `'my queue'`).
 *
 * @example
 * ```ts
 * import { createWorker } from 'flowstate/bullmq';
 * const worker = createWorker({ connection: 'redis://127.0.0.1:6379', queue: 'sql-agents', agents, concurrency: 8 });
 * process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));
 * ```
 */
export function createWorker(options: WorkerOptions): FlowstateWorker {
  const logger = options.logger ?? createLogger();
  const { agents, queue } = options;
  checkQueueName(queue, 'createWorker({ queue })');
  const state: WorkerState = {
    queue,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    name: options.name ?? `${hostname()}:${process.pid}`,
    agents,
    logger,
    handBackForMs: options.handBackForMs ?? 60_000,
    redis: redisClient(options.connection),
    running: new Map(),
    counts: { processed: 0, skipped: 0, handedBack: 0 },
    warned: new Set(),
    closing: undefined,
  };
  const { prefix, redis, running, counts } = state;
  const subscriber = redisClient(options.connection);
  for (const client of [redis, subscriber]) {
    client.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  }
  const subscribed = listenForCancels(state, subscriber);

  const worker = new Worker<JobData, JobResult>(queue, jobProcessor(state), {
    connection: bullConnection(options.connection),
    prefix,
    concurrency: options.concurrency ?? 1,
    ...(options.limiter ? { limiter: options.limiter } : {}),
    // Stalled jobs are looked for as often as a lock lasts: a dead worker's job moves on within about twice it.
    ...(options.lockDurationMs
      ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs }
      : {}),
    // A job whose worker died runs again on another (the same attempt, at-least-once with its key), several times.
    maxStalledCount: 10,
  });
  worker.on('error', (error) => logger.debug({ err: error, queue }, 'worker connection error'));
  // Defence against a worker whose fetch loop ended (the known silent-dead-worker failures after an outage):
  // BullMQ's `run()` resolves when the loop stops; start it again unless we are closing.
  const watchdog = setInterval(() => {
    if (!state.closing && !worker.isRunning()) {
      logger.warn({ queue }, 'worker loop had stopped: restarted');
      worker.run().catch((error) => logger.warn({ err: error, queue }, 'worker loop failed'));
    }
  }, 5_000);
  watchdog.unref();
  const checked = checkRedis(redis, logger);
  const closeOnce = workerCloser(state, { worker, watchdog, subscriber });

  return {
    ready: async () => {
      await Promise.all([worker.waitUntilReady(), subscribed]);
      return checked;
    },
    get running() {
      return running.size;
    },
    get processed() {
      return counts.processed;
    },
    get skipped() {
      return counts.skipped;
    },
    get handedBack() {
      return counts.handedBack;
    },
    close: (force = false) => closeOnce(force),
  };
}
