import type { RunFilter, RunRecord } from './types.js';

/** Applies a {@link RunFilter} in memory: its status, workflow and idleness, its order (oldest first by default), its page. */
export function filterRuns<T extends RunRecord>(runs: T[], filter: RunFilter): T[] {
  const statuses = filter.status === undefined ? undefined : ([] as string[]).concat(filter.status);
  const sign = filter.order === 'newest' ? -1 : 1;
  const offset = filter.offset ?? 0;
  return runs
    .filter((r) => (statuses ? statuses.includes(r.status) : true))
    .filter((r) => (filter.workflow ? r.workflow === filter.workflow : true))
    .filter((r) => (filter.idle === undefined ? true : (r.idle === true) === filter.idle))
    .sort((a, b) => sign * (a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
    .slice(offset, offset + (filter.limit ?? 1000));
}
