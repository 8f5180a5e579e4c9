/**
 * How an attempt meets its job: added under the attempt's id, or attached to the job already there when that job's
 * fingerprint is the attempt's (a re-dispatch after a takeover), and replaced when it is another run's (a run id used
 * again). A finished job's result is taken only if it answers this attempt; an aborted attempt's job, or another run's,
 * is run again instead. Why the fingerprint decides, not the id alone: `bullmqTransport` (transport.ts).
 */
import { CancelledError } from '../model/errors.js';
import { cancelKey, FIELDS, fingerprintInData, type JobResult, parse, sleep } from './redis.js';
import { cancel } from './transport-cancel.js';
import { jobKey, type Pending, type TransportState } from './transport-state.js';

/**
 * Settles a call with a finished job's result; `false` if the job is not to be taken but run again: an attempt an
 * engine aborted, or another run's job under the attempt's id. `current`: the result was read from the job's hash
 * now (not from an event, which may be a late one of the job this attempt's replaced: ignored).
 */
function take(
  state: TransportState,
  p: Pending,
  returnvalue: unknown,
  failedReason?: string,
  current = true,
): boolean {
  if (state.pending.get(p.key) !== p) return true;
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
}

/**
 * A job of `queue` ended (an event, or the periodic check read it): its call takes the result, or the attempt runs
 * again (see {@link take}).
 */
export function finished(
  state: TransportState,
  queue: string,
  jobId: string,
  returnvalue: unknown,
  failedReason: string | undefined,
  current: boolean,
): void {
  const p = state.pending.get(`${queue}\0${jobId}`);
  if (p && !take(state, p, returnvalue, failedReason, current)) void rerun(state, p);
}

/**
 * A job not to take (an attempt a previous owner aborted, which this one still waits for; another run's job under
 * the attempt's id): removed, and the attempt added again.
 */
async function rerun(state: TransportState, p: Pending): Promise<void> {
  if (p.foreign) state.stats.replaced++;
  else state.stats.rerun++;
  p.added = false;
  p.foreign = false;
  await p.lane.queue.remove(p.id).catch(() => {});
  await dispatch(state, p, true);
}

/**
 * Adds the attempt's job, or attaches to the one already there (unless `fresh`: the job there is known not to be
 * taken); retried with backoff while Redis fails.
 */
export async function dispatch(state: TransportState, p: Pending, fresh = false): Promise<void> {
  const { pending, redis, logger, stats } = state;
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
        .del(cancelKey(state.prefix, p.job.queue, p.id))
        .hmget(jobKey(state, p), ...FIELDS, 'data')
        .exec()) as [unknown, [unknown, (string | null)[]]];
      const [timestamp, finishedOn, returnvalue, failedReason, stored] = fields;
      if (!fresh && timestamp !== null) {
        const theirs = fingerprintInData(stored);
        // A job without a fingerprint is an earlier build's: taken as this attempt's, as it was then.
        if (theirs === undefined || theirs === p.fingerprint) {
          stats.reattached++;
          p.added = true;
          if (finishedOn === null) return; // waiting or active: its event will come
          if (take(state, p, parse(returnvalue), failedReason ?? undefined)) return;
          await rerun(state, p);
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
          cancel(state, p, new CancelledError('Replaced by a new run with the same id'));
          return;
        }
        stats.replaced++;
      }
      if (pending.get(p.key) !== p) return;
      await p.lane.queue.add(p.job.agent, p.data, {
        jobId: p.id,
        attempts: 1,
        removeOnComplete: { age: state.keepSeconds },
        removeOnFail: { age: state.keepSeconds },
      });
      stats.dispatched++;
      p.added = true;
      return;
    } catch (error) {
      if (state.closed) return;
      logger.warn({ err: error, job: p.id, queue: p.job.queue }, 'dispatch failed, retrying');
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }
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
