/**
 * The workers' side of `flowstate/bullmq`: runs the agents of a queue's jobs with the context an in-process agent
 * gets, aborts them when their engine cancels or their timeout passes, and returns their output or error as the
 * job's result (see {@link JobResult}).
 */
import { hostname } from 'node:os';
import { DelayedError, type Job, type RateLimiterOptions, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { callAgent } from '../machine/call-agent.js';
import type { AgentContext, AgentRegistry } from '../model/agent.js';
import { CancelledError, StepTimeoutError, serializeError } from '../model/errors.js';
import { createLogger } from '../observability/logger.js';
import {
  AgentNotOnWorkerError,
  bullConnection,
  CLOSE_WAIT_MS,
  cancelChannel,
  cancelKey,
  checkQueueName,
  checkRedis,
  DEFAULT_PREFIX,
  type JobData,
  type JobResult,
  NotJsonError,
  PROTOCOL_VERSION,
  type RedisConnection,
  redisClient,
  settleWithin,
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
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const logger = options.logger ?? createLogger();
  const { agents, queue } = options;
  checkQueueName(queue, 'createWorker({ queue })');
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const handBackForMs = options.handBackForMs ?? 60_000;
  /** The running jobs' aborts by job id: a cancellation from any engine reaches the job that runs here. */
  const running = new Map<string, Running>();
  let processed = 0;
  let skipped = 0;
  let handedBack = 0;
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
  const warned = new Set<string>();

  /**
   * A job this worker cannot run (`why`: it lacks the agent, or the job is of a newer protocol), handed back to the
   * queue with a growing delay (100 ms doubling to 5 s, jittered) for another worker; after `handBackForMs` of that,
   * its attempt fails retryably, naming this worker and the agent.
   */
  const handBack = async (job: Job<JobData, JobResult>, token: string | undefined, why: string) => {
    const times = Math.max(0, (job.attemptsStarted ?? 1) - 1);
    if (token && handBackTime(times) < handBackForMs) {
      handedBack++;
      if (!warned.has(job.name)) {
        warned.add(job.name);
        logger.warn(
          { queue, worker: name, agent: job.name },
          `worker ${why}: its jobs are handed back to the queue`,
        );
      }
      const delay = Math.min(100 * 2 ** times, 5_000) * (0.5 + Math.random());
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
    processed++;
    return result(
      job.data,
      failure(
        new AgentNotOnWorkerError(
          `Worker '${name}' of queue '${queue}' ${why} (it has ${Object.keys(agents).join(', ') || 'none'}); it handed job ${job.id} back to the queue ${times} times over ${Math.round(handBackTime(times) / 1000)} s and no other worker took it. Run a worker of queue '${queue}' with agent '${job.name}' (flowstate worker --agents, createWorker({ agents }))`,
        ),
        false,
      ),
    );
  };

  const processor = async (job: Job<JobData, JobResult>, token?: string, lost?: AbortSignal) => {
    const data = job.data;
    const id = job.id ?? '';
    if (!Object.hasOwn(agents, job.name)) return handBack(job, token, `has no agent '${job.name}'`);
    if (typeof data.v === 'number' && data.v > PROTOCOL_VERSION)
      return handBack(job, token, `reads jobs of version ${PROTOCOL_VERSION}, not ${data.v}`);
    const controller = new AbortController();
    let done: () => void = () => {};
    const entry: Running = { controller, data, started: false, done: new Promise<void>((r) => (done = r)) };
    running.set(id, entry);
    const onLost = () => controller.abort(new CancelledError('The job was taken back by BullMQ'));
    lost?.addEventListener('abort', onLost, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      // A cancellation (the run cancelled, the attempt timed out or superseded) left before this worker took the job
      // is in its key: read before the agent starts, so an agent that ignores ctx.signal never runs for a run that
      // ended. One round trip a job; a notice arriving meanwhile aborts the controller. A failed read (Redis gone
      // again) does not stop the job: it would run once Redis is back anyway.
      const earlier = await untilAborted(
        redis.get(cancelKey(prefix, queue, id)).catch(() => null),
        controller.signal,
      );
      if (earlier) abort(earlier);
      if (closing) controller.abort(new CancelledError('Worker closed'));
      if (controller.signal.aborted) {
        skipped++;
        return result(data, failure(controller.signal.reason, true));
      }
      entry.started = true;
      if (data.timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            controller.abort(
              new StepTimeoutError(data.timeoutMs ?? 0, {
                stepPath: data.stepPath,
                attempts: data.attempt,
              }),
            ),
          data.timeoutMs,
        );
      }
      const output = await callAgent(
        agents,
        job.name,
        data.input,
        workerContext(data, controller.signal, logger),
      );
      // An output JSON cannot carry would fail the job in BullMQ (retried as if it were a fault): say what it is.
      try {
        JSON.stringify(output);
      } catch (error) {
        return result(
          data,
          failure(
            new NotJsonError(
              `The output of agent '${job.name}' (step '${data.stepPath}', attempt ${data.attempt}) cannot be sent back from worker '${name}': JSON cannot carry it (${(error as Error).message}). An agent on a queue returns JSON values (a BigInt as a string, no cycles)`,
              { cause: error },
            ),
            false,
          ),
        );
      }
      return result(data, { ok: true, output });
    } catch (error) {
      const reason = controller.signal.aborted ? controller.signal.reason : undefined;
      return result(data, failure(error, reason instanceof CancelledError));
    } finally {
      if (timer) clearTimeout(timer);
      lost?.removeEventListener('abort', onLost);
      running.delete(id);
      processed++;
      done();
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
  let closing: Promise<void> | undefined;
  const watchdog = setInterval(() => {
    if (!closing && !worker.isRunning()) {
      logger.warn({ queue }, 'worker loop had stopped: restarted');
      worker.run().catch((error) => logger.warn({ err: error, queue }, 'worker loop failed'));
    }
  }, 5_000);
  watchdog.unref();
  const checked = checkRedis(redis, logger);

  let forced: () => void = () => {};
  const whenForced = new Promise<void>((resolve) => {
    forced = resolve;
  });
  const abortAll = () => {
    for (const job of running.values()) job.controller.abort(new CancelledError('Worker closed'));
    forced();
  };
  const close = async (force: boolean) => {
    clearInterval(watchdog);
    // A job whose agent has not started yet (its cancellation read may wait for a Redis that is down) is not started:
    // its attempt is handed back as cancelled, and its owner adds it again for another worker.
    if (force) abortAll();
    else
      for (const job of running.values())
        if (!job.started) job.controller.abort(new CancelledError('Worker closed'));
    // BullMQ's close stops the fetching, waits for the running jobs (unless forced), then writes their results and
    // ends its connections: that part needs Redis, and waits for it forever.
    const bullClosed = worker
      .close(force)
      .catch((error) => logger.debug({ err: error }, 'worker close failed'));
    // The agents are waited for as long as they run (unless forced); what needs Redis after them at most CLOSE_WAIT_MS.
    if (!force) await Promise.race([Promise.all([...running.values()].map((job) => job.done)), whenForced]);
    if (!(await settleWithin([bullClosed], CLOSE_WAIT_MS))) {
      logger.warn({ queue, worker: name }, 'Redis did not answer the close: connections dropped');
      // Not waited for: ioredis ends a connection that is reconnecting without a word (its 'end' never comes).
      worker.disconnect().catch(() => {});
      stopTimers(worker);
    }
    subscriber.disconnect();
    redis.disconnect();
  };

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
    get skipped() {
      return skipped;
    },
    get handedBack() {
      return handedBack;
    },
    close(force = false) {
      // Forced while a polite close waits for the agents: they are aborted, and not waited for any more.
      if (closing && force) abortAll();
      closing ??= close(force);
      return closing;
    },
  };
}

/** A job running on this worker. */
interface Running {
  readonly controller: AbortController;
  readonly data: JobData;
  /** Its agent was called (past the cancellation read). */
  started: boolean;
  /** Settles once the job's processor ended. */
  readonly done: Promise<void>;
}

/**
 * Stops the timers BullMQ's close clears only once Redis answered (the lock renewal and the stalled jobs check, both
 * re-armed every few seconds): a worker closed while Redis is down must not keep its process alive. BullMQ 6's
 * internals, reached with care: nothing happens where they are not.
 */
function stopTimers(worker: Worker): void {
  const internals = worker as unknown as {
    lockManager?: { close?: () => Promise<void> };
    stalledCheckStopper?: () => void;
  };
  internals.lockManager?.close?.().catch(() => {});
  internals.stalledCheckStopper?.();
}

/** About how long a job was handed back after `times` hand-backs (their delays without jitter). */
function handBackTime(times: number): number {
  let total = 0;
  for (let i = 0; i < times; i++) total += Math.min(100 * 2 ** i, 5_000);
  return total;
}

/** `promise`'s value, or `undefined` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(undefined);
      },
    );
  });
}

/** A result stamped with the protocol version and the fingerprint of the job it answers (older engines ignore both). */
function result(data: JobData, outcome: JobResult): JobResult {
  return {
    ...outcome,
    v: PROTOCOL_VERSION,
    ...(data.fingerprint !== undefined ? { fingerprint: data.fingerprint } : {}),
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
