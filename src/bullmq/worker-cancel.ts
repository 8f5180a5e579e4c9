/**
 * How an engine's cancellation reaches the job running here: its notice on the queue's pub/sub channel, or, for a
 * notice published while this worker was reconnecting, in its key (read again once the subscription is back).
 */
import type { Redis } from 'ioredis';
import { CancelledError, StepTimeoutError } from '../model/errors.js';
import { cancelChannel, cancelKey } from './redis.js';
import type { WorkerState } from './worker-state.js';

/** Aborts a running job for an engine's notice (`{ jobId, reason, code }`, from pub/sub or the cancel key). */
export function abortFor(state: WorkerState, notice: string): void {
  const { jobId, reason, code } = JSON.parse(notice) as { jobId: string; reason: string; code?: string };
  const job = state.running.get(jobId);
  if (!job) return;
  job.controller.abort(
    code === 'STEP_TIMEOUT'
      ? new StepTimeoutError(job.data.timeoutMs ?? 0, {
          stepPath: job.data.stepPath,
          attempts: job.data.attempt,
        })
      : new CancelledError(`The attempt was cancelled by its engine: ${reason}`),
  );
}

/** Subscribes `subscriber` to the queue's cancellations; resolves once subscribed. */
export function listenForCancels(state: WorkerState, subscriber: Redis): Promise<unknown> {
  const { prefix, queue, running, redis } = state;
  subscriber.on('message', (_channel, notice: string) => abortFor(state, notice));
  // ioredis subscribes again after a reconnect; a cancellation published meanwhile is only in its key: read them.
  subscriber.on('ready', () => void recheck());
  const subscribed = subscriber.subscribe(cancelChannel(prefix, queue));
  const recheck = async () => {
    const ids = [...running.keys()];
    if (ids.length === 0) return;
    const reasons = await redis.mget(ids.map((id) => cancelKey(prefix, queue, id))).catch(() => []);
    for (const notice of reasons) if (notice) abortFor(state, notice);
  };
  return subscribed;
}
