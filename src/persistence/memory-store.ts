import type {
  HistoryRow,
  JournalEntry,
  RunFilter,
  RunRecord,
  StoreBatch,
  StoredRun,
  TimerRow,
  WorkflowStore,
} from './types.js';

/**
 * A store in process memory: what the engine uses without a `store`. Runs survive nothing, but `get`, `list`,
 * `resume` and the journal behave as with a real store.
 */
export function memoryStore(): WorkflowStore {
  const runs = new Map<string, StoredRun>();
  const journal = new Map<string, JournalEntry>();
  const timers = new Map<string, TimerRow[]>();
  const history = new Map<string, HistoryRow>();
  return {
    async write(batch: StoreBatch) {
      const refused: string[] = [];
      for (const { run, timers: rows } of batch.runs) {
        const previous = runs.get(run.id);
        // Another run that reused an id never overwrites the first (as the SQL stores' guarded upsert).
        if (previous && previous.createdAt !== run.createdAt) {
          refused.push(run.id);
          continue;
        }
        runs.set(run.id, run);
        timers.set(run.id, [...rows]);
      }
      for (const entry of batch.journal) if (!journal.has(entry.key)) journal.set(entry.key, entry);
      for (const row of batch.history ?? []) history.set(`${row.workflow}\0${row.kind}\0${row.path}`, row);
      return refused.length > 0 ? { refused } : undefined;
    },
    async getRun(id) {
      return runs.get(id);
    },
    async listRuns(filter: RunFilter = {}) {
      return filterRuns([...runs.values()], filter).map(toRecord);
    },
    async getJournal(key) {
      return journal.get(key);
    },
    async listTimers(runId) {
      return timers.get(runId) ?? [];
    },
    async loadHistory() {
      return [...history.values()];
    },
    async close() {},
  };
}

/** Applies a {@link RunFilter} in memory, oldest first. */
export function filterRuns<T extends RunRecord>(runs: T[], filter: RunFilter): T[] {
  const statuses = filter.status === undefined ? undefined : ([] as string[]).concat(filter.status);
  return runs
    .filter((r) => (statuses ? statuses.includes(r.status) : true))
    .filter((r) => (filter.workflow ? r.workflow === filter.workflow : true))
    .sort((a, b) => a.createdAt - b.createdAt)
    .slice(0, filter.limit ?? 1000);
}

/** A stored run without its snapshot. */
export function toRecord(run: StoredRun): RunRecord {
  const { snapshot: _snapshot, ...record } = run;
  return record;
}
