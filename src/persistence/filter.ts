import type { RunFilter, RunRecord } from './types.js';

/** Applies a {@link RunFilter} in memory, oldest first. */
export function filterRuns<T extends RunRecord>(runs: T[], filter: RunFilter): T[] {
  const statuses = filter.status === undefined ? undefined : ([] as string[]).concat(filter.status);
  return runs
    .filter((r) => (statuses ? statuses.includes(r.status) : true))
    .filter((r) => (filter.workflow ? r.workflow === filter.workflow : true))
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, filter.limit ?? 1000);
}
