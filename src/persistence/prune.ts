/**
 * Retention of ended runs: the checks every store's `pruneEnded` shares, and {@link pruneRuns}, which prunes a
 * whole backlog in short batches (one transaction each) so a busy store is never locked for long.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, FlowstateError } from '../model/errors.js';
import type { PruneOptions, PruneResult, RunRecord, WorkflowStore } from './types.js';
import { ENDED } from './types.js';

/** Runs per `pruneEnded` call when none is given: a few hundred rows of journal each, milliseconds of locking. */
const PRUNE_BATCH = 100;
/** The most runs one `pruneEnded` call may take: past it a batch holds its locks too long to be a batch. */
const MAX_BATCH = 10_000;

/** The status list as SQL (`status IN (...)`), from {@link ENDED}: one source for every store. */
export const ENDED_SQL = `status IN (${ENDED.map((s) => `'${s}'`).join(', ')})`;

/**
 * What `post` of every store rejects with when the signal's run is not stored: it never was, or it was pruned (even
 * while the signal was being sent: the check and the insert are one step against `pruneEnded`). Nothing is stored;
 * the error is the one a signal to a missing run gets from the engine (`RUN_NOT_FOUND`).
 */
export function runNotFound(runId: string): FlowstateError {
  return new FlowstateError('RUN_NOT_FOUND', `No stored run '${runId}': the signal was not stored`, {
    workflowId: runId,
  });
}

/** {@link PruneOptions} checked, with their defaults. Throws a `ConfigurationError` naming the bad one. */
export function pruneSettings(options: PruneOptions): Required<PruneOptions> {
  const { endedBefore, limit = PRUNE_BATCH, dryRun = false, now = Date.now() } = options ?? {};
  if (typeof endedBefore !== 'number' || !Number.isFinite(endedBefore))
    throw new ConfigurationError(
      `pruneEnded: endedBefore must be a time in epoch ms, got ${String(endedBefore)}`,
    );
  if (!Number.isSafeInteger(limit) || limit <= 0)
    throw new ConfigurationError(`pruneEnded: limit must be a positive whole number, got ${String(limit)}`);
  if (typeof now !== 'number' || !Number.isFinite(now))
    throw new ConfigurationError(`pruneEnded: now must be a time in epoch ms, got ${String(now)}`);
  // Whole milliseconds: the SQL columns are integers, and both sides must compare alike.
  return { endedBefore: Math.floor(endedBefore), limit, dryRun: dryRun === true, now: Math.floor(now) };
}

/** Whether a run may be pruned: ended before `endedBefore`, and no lease on it is live at `now`. */
export function isPrunable(run: RunRecord, endedBefore: number, now: number): boolean {
  return ENDED.includes(run.status) && run.updatedAt < endedBefore && (run.leaseUntil ?? 0) <= now;
}

/** Options of {@link pruneRuns}. */
export interface PruneRunsOptions {
  /** Only runs that ended before this time, epoch ms. */
  readonly endedBefore: number;
  /** At most this many runs in all. @default every one there is */
  readonly limit?: number;
  /** Runs per transaction. @default 100 */
  readonly batchSize?: number;
  /** Count, delete nothing (one read). @default false */
  readonly dryRun?: boolean;
}

/** What {@link pruneRuns} did. */
export interface PruneRunsResult {
  /** Runs deleted (or, with `dryRun`, that would be). */
  readonly runs: number;
  /** Transactions it took (`0` for a dry run). */
  readonly batches: number;
}

/**
 * Prunes the ended runs of a store older than `endedBefore` (see {@link WorkflowStore.pruneEnded}), batch after
 * batch until none is left or `limit` runs went. Between batches it yields, so the engines writing to the same
 * store get their turn. Throws a `ConfigurationError` if the store cannot prune (a custom store without
 * `pruneEnded`) or an option is bad.
 *
 * @example
 * ```ts
 * const { runs } = await pruneRuns(sqliteStore('./flowstate.db'), { endedBefore: Date.now() - 30 * 86_400_000 });
 * ```
 */
export async function pruneRuns(store: WorkflowStore, options: PruneRunsOptions): Promise<PruneRunsResult> {
  if (typeof store.pruneEnded !== 'function')
    throw new ConfigurationError(
      'This store does not support pruning ended runs (it has no pruneEnded method): nothing was deleted',
    );
  const prune = (o: PruneOptions): Promise<PruneResult> =>
    (store.pruneEnded as NonNullable<typeof store.pruneEnded>)(o);
  const total = options.limit ?? Number.MAX_SAFE_INTEGER;
  const batch = options.batchSize ?? PRUNE_BATCH;
  if (!Number.isSafeInteger(total) || total <= 0)
    throw new ConfigurationError(
      `pruneRuns: limit must be a positive whole number, got ${String(options.limit)}`,
    );
  if (!Number.isSafeInteger(batch) || batch <= 0 || batch > MAX_BATCH)
    throw new ConfigurationError(
      `pruneRuns: batchSize must be a whole number from 1 to ${MAX_BATCH}, got ${String(options.batchSize)}`,
    );
  const { endedBefore } = options;
  if (options.dryRun === true) {
    const { runs } = await prune({ endedBefore, limit: total, dryRun: true });
    return { runs, batches: 0 };
  }
  let runs = 0;
  let batches = 0;
  while (runs < total) {
    const asked = Math.min(batch, total - runs);
    // `now` is read per batch: a lease that ended meanwhile no longer keeps its run.
    const done = await prune({ endedBefore, limit: asked, now: Date.now() });
    batches++;
    runs += done.runs;
    if (done.runs < asked) break;
    await sleep(1);
  }
  return { runs, batches };
}
