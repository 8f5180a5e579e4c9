/**
 * How a worker runs a job: the cancellation read before the agent starts (an attempt cancelled or timed out before the
 * job was taken never calls its agent), the attempt's timeout, the agent called with the context an in-process agent
 * gets, and its output or error written back as the job's result.
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { callAgent } from '../machine/call-agent.js';
import type { AgentContext } from '../model/agent.js';
import { CancelledError, StepTimeoutError } from '../model/errors.js';
import { cancelKey, type JobData, type JobResult, NotJsonError } from './redis.js';
import { abortFor } from './worker-cancel.js';
import { handBack, whyNotRunnable } from './worker-hand-back.js';
import { failure, result } from './worker-results.js';
import type { Running, WorkerState } from './worker-state.js';

/**
 * BullMQ's processor for the worker of `state`: `lost` fires when BullMQ takes the job back (its lock lost), which
 * aborts the agent like a cancellation.
 */
export function jobProcessor(state: WorkerState) {
  return async (job: Job<JobData, JobResult>, token?: string, lost?: AbortSignal): Promise<JobResult> => {
    const data = job.data;
    const id = job.id ?? '';
    const why = whyNotRunnable(job, state.agents);
    if (why !== undefined) return handBack(state, job, token, why);
    const controller = new AbortController();
    let done: () => void = () => {};
    const entry: Running = { controller, data, started: false, done: new Promise<void>((r) => (done = r)) };
    state.running.set(id, entry);
    const onLost = () => controller.abort(new CancelledError('The job was taken back by BullMQ'));
    lost?.addEventListener('abort', onLost, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      // A cancellation (the run cancelled, the attempt timed out or superseded) left before this worker took the job
      // is in its key: read before the agent starts, so an agent that ignores ctx.signal never runs for a run that
      // ended. One round trip a job; a notice arriving meanwhile aborts the controller. A failed read (Redis gone
      // again) does not stop the job: it would run once Redis is back anyway.
      const earlier = await untilAborted(
        state.redis.get(cancelKey(state.prefix, state.queue, id)).catch(() => null),
        controller.signal,
      );
      if (earlier) abortFor(state, earlier);
      if (state.closing) controller.abort(new CancelledError('Worker closed'));
      if (controller.signal.aborted) {
        state.counts.skipped++;
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
        state.agents,
        job.name,
        data.input,
        workerContext(data, controller.signal, state.logger),
      );
      // An output JSON cannot carry would fail the job in BullMQ (retried as if it were a fault): say what it is.
      try {
        JSON.stringify(output);
      } catch (error) {
        return result(
          data,
          failure(
            new NotJsonError(
              `The output of agent '${job.name}' (step '${data.stepPath}', attempt ${data.attempt}) cannot be sent back from worker '${state.name}': JSON cannot carry it (${(error as Error).message}). An agent on a queue returns JSON values (a BigInt as a string, no cycles)`,
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
      state.running.delete(id);
      state.counts.processed++;
      done();
    }
  };
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
