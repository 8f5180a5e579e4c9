/**
 * A worker's close, which must end while Redis is down: BullMQ's own close writes the last results and says goodbye
 * on its connections, and waits for Redis forever. The agents are waited for as long as they run (unless forced);
 * what needs Redis after them gets at most CLOSE_WAIT_MS, then the connections are dropped (a result not written runs
 * again elsewhere once the job's lock passes).
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelledError } from '../model/errors.js';
import { CLOSE_WAIT_MS, settleWithin } from './redis.js';
import type { WorkerState } from './worker-state.js';

/** What a worker's close ends besides its state: the BullMQ worker, its watchdog and its pub/sub connection. */
interface Closed {
  readonly worker: Worker;
  readonly watchdog: NodeJS.Timeout;
  readonly subscriber: Redis;
}

/**
 * The worker's `close(force)`: once, whatever the calls (a later call gets the same promise), except that a forced
 * call while a polite close waits for the agents aborts them, and they are not waited for any more.
 */
export function workerCloser(state: WorkerState, { worker, watchdog, subscriber }: Closed) {
  const { running, logger, queue, name } = state;
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
    state.redis.disconnect();
  };
  return (force: boolean): Promise<void> => {
    // Forced while a polite close waits for the agents: they are aborted, and not waited for any more.
    if (state.closing && force) abortAll();
    state.closing ??= close(force);
    return state.closing;
  };
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
