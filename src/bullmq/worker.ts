/**
 * The workers' side of `flowstate/bullmq`: runs the agents of a queue's jobs with the context an in-process agent
 * gets, aborts them when their engine cancels or their timeout passes, and returns their output or error as the
 * job's result (see {@link JobResult}).
 */
import { type Job, type RateLimiterOptions, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { callAgent } from '../machine/call-agent.js';
import type { AgentContext, AgentRegistry } from '../model/agent.js';
import { CancelledError, StepTimeoutError, serializeError } from '../model/errors.js';
import { createLogger } from '../observability/logger.js';
import {
  bullConnection,
  cancelChannel,
  cancelKey,
  checkRedis,
  DEFAULT_PREFIX,
  type JobData,
  type JobResult,
  type RedisConnection,
  redisClient,
} from './redis.js';

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
}

/** A running worker. */
export interface FlowstateWorker {
  /** Resolves once connected, with the warnings of the Redis settings check (also logged). */
  ready(): Promise<string[]>;
  /** Jobs running now. */
  readonly running: number;
  /** Jobs finished by this worker (done, failed or cancelled). */
  readonly processed: number;
  /** Stops taking jobs; waits for the running ones unless `force`. */
  close(force?: boolean): Promise<void>;
}

/**
 * Runs the agents of a queue's jobs. Each agent gets the `ctx` of an in-process call: `signal` (fires when the
 * engine aborts the attempt, on its timeout, or when BullMQ takes the job back), `attempt`, `idempotencyKey`,
 * `workflowId`, `step` and a `logger` bound to them. An agent's error becomes the job's result, so the engine's
 * retry policy decides (BullMQ attempts stay 1).
 *
 * @example
 * ```ts
 * import { createWorker } from 'flowstate/bullmq';
 * const worker = createWorker({ connection: 'redis://127.0.0.1:6379', queue: 'sql-agents', agents, concurrency: 8 });
 * process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));
 * ```
 */
export function createWorker(options: WorkerOptions): FlowstateWorker {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const logger = options.logger ?? createLogger();
  const { agents, queue } = options;
  /** The running jobs' aborts by job id: a cancellation from any engine reaches the job that runs here. */
  const running = new Map<string, { readonly controller: AbortController; readonly data: JobData }>();
  let processed = 0;
  const redis = redisClient(options.connection);
  const subscriber = redisClient(options.connection);
  for (const client of [redis, subscriber]) {
    client.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  }
  const channel = cancelChannel(prefix, queue);
  /** Aborts a running job for an engine's notice (`{ jobId, reason, code }`, from pub/sub or the cancel key). */
  const abort = (notice: string) => {
    const { jobId, reason, code } = JSON.parse(notice) as { jobId: string; reason: string; code?: string };
    const job = running.get(jobId);
    if (!job) return;
    job.controller.abort(
      code === 'STEP_TIMEOUT'
        ? new StepTimeoutError(job.data.timeoutMs ?? 0, {
            stepPath: job.data.stepPath,
            attempts: job.data.attempt,
          })
        : new CancelledError(`The attempt was cancelled by its engine: ${reason}`),
    );
  };
  subscriber.on('message', (_channel, notice: string) => abort(notice));
  // ioredis subscribes again after a reconnect; a cancellation published meanwhile is only in its key: read them.
  subscriber.on('ready', () => void recheck());
  const subscribed = subscriber.subscribe(channel);
  const recheck = async () => {
    const ids = [...running.keys()];
    if (ids.length === 0) return;
    const reasons = await redis.mget(ids.map((id) => cancelKey(prefix, queue, id))).catch(() => []);
    for (const notice of reasons) if (notice) abort(notice);
  };

  const processor = async (job: Job<JobData, JobResult>, _token?: string, lost?: AbortSignal) => {
    const data = job.data;
    const controller = new AbortController();
    const id = job.id ?? '';
    running.set(id, { controller, data });
    const onLost = () => controller.abort(new CancelledError('The job was taken back by BullMQ'));
    lost?.addEventListener('abort', onLost, { once: true });
    const timer =
      data.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              controller.abort(
                new StepTimeoutError(data.timeoutMs ?? 0, {
                  stepPath: data.stepPath,
                  attempts: data.attempt,
                }),
              ),
            data.timeoutMs,
          );
    try {
      // A cancellation published before this worker took the job is in its key. Read beside the agent's start, not
      // before it (one round trip off every step): an attempt cancelled that early is aborted a moment after.
      redis
        .get(cancelKey(prefix, queue, id))
        .then((earlier) => earlier && abort(earlier))
        .catch(() => {});
      const output = await callAgent(
        agents,
        job.name,
        data.input,
        workerContext(data, controller.signal, logger),
      );
      return { ok: true, output } satisfies JobResult;
    } catch (error) {
      const reason = controller.signal.aborted ? controller.signal.reason : undefined;
      return failure(error, reason instanceof CancelledError);
    } finally {
      if (timer) clearTimeout(timer);
      lost?.removeEventListener('abort', onLost);
      running.delete(id);
      processed++;
    }
  };

  const worker = new Worker<JobData, JobResult>(queue, processor, {
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
  let closing = false;
  const watchdog = setInterval(() => {
    if (!closing && !worker.isRunning()) {
      logger.warn({ queue }, 'worker loop had stopped: restarted');
      worker.run().catch((error) => logger.warn({ err: error, queue }, 'worker loop failed'));
    }
  }, 5_000);
  watchdog.unref();
  const checked = checkRedis(redis, logger);

  return {
    ready: async () => {
      await Promise.all([worker.waitUntilReady(), subscribed]);
      return checked;
    },
    get running() {
      return running.size;
    },
    get processed() {
      return processed;
    },
    async close(force = false) {
      closing = true;
      clearInterval(watchdog);
      if (force)
        for (const job of running.values()) job.controller.abort(new CancelledError('Worker closed'));
      await worker.close(force);
      // Redis may be down: do not wait for a polite goodbye.
      subscriber.disconnect();
      redis.disconnect();
    },
  };
}

/** An agent's error as a job result: JSON-safe, with `retryable: false` kept for the engine's policy. */
function failure(error: unknown, cancelled: boolean): JobResult {
  const retryable = (error as { retryable?: unknown } | null)?.retryable === false;
  return {
    ok: false,
    error: { ...serializeError(error), ...(retryable ? { retryable: false as const } : {}) },
    ...(cancelled ? { cancelled: true as const } : {}),
  };
}

/** The context of an attempt run by a worker: the same fields as in the engine's process. */
function workerContext(data: JobData, signal: AbortSignal, parent: Logger): AgentContext {
  let logger: Logger | undefined;
  return {
    signal,
    attempt: data.attempt,
    workflowId: data.runId,
    step: data.stepPath,
    idempotencyKey: data.idempotencyKey,
    get logger() {
      logger ??= parent.child({ workflowId: data.runId, step: data.stepPath, attempt: data.attempt });
      return logger;
    },
    toJSON: () => ({
      workflowId: data.runId,
      step: data.stepPath,
      attempt: data.attempt,
      idempotencyKey: data.idempotencyKey,
    }),
  } as AgentContext;
}
