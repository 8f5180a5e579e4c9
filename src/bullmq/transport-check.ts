/**
 * The periodic check that covers what the QueueEvents stream cannot promise (an event trimmed away, an engine that
 * attached after the event, Redis restarted empty): each job in flight is read by id, a finished one is taken and a
 * missing one is added again under the same id.
 */
import { FIELDS, parse } from './redis.js';
import { dispatch, finished } from './transport-attach.js';
import { jobKey, type TransportState } from './transport-state.js';

/** Reads every job in flight: takes the finished ones whose event was missed, adds again the ones Redis lost. */
async function check(state: TransportState): Promise<void> {
  const { pending, stats, logger } = state;
  const watched = [...pending.values()].filter((p) => p.added);
  if (watched.length === 0) return;
  const batch = state.redis.pipeline();
  for (const p of watched) batch.hmget(jobKey(state, p), ...FIELDS);
  const rows = (await batch.exec()) ?? [];
  watched.forEach((p, i) => {
    const [error, fields] = rows[i] ?? [new Error('no reply')];
    if (error || pending.get(p.key) !== p) return;
    const [timestamp, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
    if (timestamp === null) {
      stats.requeued++;
      logger.warn({ job: p.id, queue: p.job.queue }, 'job lost by Redis: added again');
      p.added = false;
      void dispatch(state, p, true);
    } else if (finishedOn !== null) {
      finished(state, p.job.queue, p.id, parse(returnvalue), failedReason ?? undefined, true);
    }
  });
}

/**
 * Runs {@link check} every `everyMs`, one at a time (a check that outlasts the interval skips the next); the timer
 * does not keep the process alive. Clear it on close.
 */
export function startChecks(state: TransportState, everyMs: number): NodeJS.Timeout {
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    check(state)
      .catch((error) => state.logger.debug({ err: error }, 'in-flight check failed'))
      .finally(() => {
        checking = false;
      });
  }, everyMs);
  timer.unref();
  return timer;
}
