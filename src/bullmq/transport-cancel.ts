/**
 * How an engine stops an attempt's job: a notice on the queue's pub/sub channel for the worker running it, the same
 * notice in a key for a worker that takes the job later (or was reconnecting when it was published), and the job's
 * removal while it still waits in its queue, so that no worker takes it at all.
 */
import { CANCEL_TTL_MS, cancelChannel, cancelKey } from './redis.js';
import type { Pending, TransportState } from './transport-state.js';

/**
 * Removes an aborted attempt's job if it still waits in its queue (waiting, or delayed by a worker that handed it
 * back): no worker takes it then. A job being taken at that moment is locked and stays (its worker reads the
 * cancellation before calling the agent); a finished one stays for an owner that took the run over.
 */
async function removeWaiting(state: TransportState, p: Pending): Promise<void> {
  const jobState = await p.lane.queue.getJobState(p.id);
  if (jobState !== 'waiting' && jobState !== 'delayed' && jobState !== 'prioritized') return;
  if ((await p.lane.queue.remove(p.id)) === 1) state.stats.removed++;
}

/**
 * Asks the workers to abort a job, remembers it for a worker that takes the job later, and removes the job if it
 * still waits in its queue.
 */
export function cancel(state: TransportState, p: Pending, reason: unknown): void {
  // The reason's code travels too: the agent's signal says a timeout is a timeout (STEP_TIMEOUT), not a cancel.
  const notice = JSON.stringify({
    jobId: p.id,
    reason: reason instanceof Error ? reason.message : String(reason ?? 'cancelled'),
    code: (reason as { code?: unknown } | undefined)?.code,
  });
  state.redis
    .multi()
    .set(cancelKey(state.prefix, p.job.queue, p.id), notice, 'PX', CANCEL_TTL_MS)
    .publish(cancelChannel(state.prefix, p.job.queue), notice)
    .exec()
    .then(() => (p.foreign ? undefined : removeWaiting(state, p)))
    .catch((error) => state.logger.debug({ err: error, job: p.id }, 'cancel not published'));
}
