import { filterRuns } from './filter.js';
import { isPrunable, pruneSettings, runNotFound } from './prune.js';
import type {
  DueRun,
  HistoryRow,
  InboxMessage,
  JournalEntry,
  RunFilter,
  RunHead,
  RunHeadFilter,
  RunLease,
  RunRecord,
  StoreBatch,
  StoredRun,
  TimerRow,
  WorkflowStore,
} from './types.js';
import { UNFINISHED } from './types.js';

/**
 * A store in process memory, the reference implementation of the store contract: runs survive nothing, but
 * leases, the journal, the inbox, `get`, `list` and `resume` behave as with a real store.
 */
export function memoryStore(): WorkflowStore {
  const runs = new Map<string, StoredRun>();
  const journal = new Map<string, JournalEntry>();
  const timers = new Map<string, TimerRow[]>();
  const history = new Map<string, HistoryRow>();
  const inbox = new Map<string, InboxMessage>();
  const listeners = new Set<(runId: string) => void>();
  const holds = (id: string, lease: RunLease) => {
    const run = runs.get(id);
    return run !== undefined && run.owner === lease.owner && run.epoch === lease.epoch;
  };
  const unfinished = (run: StoredRun) => UNFINISHED.includes(run.status);
  return {
    async write(batch: StoreBatch) {
      const refused: string[] = [];
      const fenced = new Set<string>();
      for (const { run, owner, leaseUntil } of batch.claims ?? []) {
        if (runs.has(run.id)) refused.push(run.id);
        else runs.set(run.id, { ...run, owner, epoch: 1, leaseUntil });
      }
      for (const { run, timers: rows, lease, resetJournal, idle } of batch.runs) {
        const previous = runs.get(run.id);
        if (!previous || !holds(run.id, lease)) {
          fenced.add(run.id);
          continue;
        }
        const { idle: _was, ...fields } = run;
        runs.set(run.id, {
          ...fields,
          ...(idle ? { idle: true } : {}),
          createdAt: previous.createdAt,
          owner: lease.owner,
          epoch: lease.epoch,
          ...(previous.leaseUntil !== undefined ? { leaseUntil: previous.leaseUntil } : {}),
        });
        timers.set(run.id, [...rows]);
        if (resetJournal) for (const [key, entry] of journal) if (entry.runId === run.id) journal.delete(key);
      }
      for (const { lease, ...entry } of batch.journal) {
        if (!holds(entry.runId, lease)) fenced.add(entry.runId);
        else if (!journal.has(entry.key)) journal.set(entry.key, entry);
      }
      for (const r of batch.inbox ?? []) {
        const message = inbox.get(r.id);
        if (message?.state === 'pending' && holds(r.runId, r.lease))
          inbox.set(r.id, { ...message, state: r.state, result: r.result });
      }
      for (const row of batch.history ?? []) history.set(`${row.workflow}\0${row.kind}\0${row.path}`, row);
      if (refused.length === 0 && fenced.size === 0) return undefined;
      return { ...(refused.length ? { refused } : {}), ...(fenced.size ? { fenced: [...fenced] } : {}) };
    },
    async acquire(id, owner, now, leaseUntil) {
      const run = runs.get(id);
      if (!run || !unfinished(run)) return undefined;
      if (run.owner && run.owner !== owner && (run.leaseUntil ?? 0) > now) return undefined;
      const epoch = (run.epoch ?? 0) + 1;
      runs.set(id, { ...run, owner, epoch, leaseUntil });
      return { owner, epoch };
    },
    async renew(owner, leaseUntil) {
      const held: (RunLease & { id: string })[] = [];
      for (const run of runs.values()) {
        if (run.owner !== owner || !unfinished(run) || run.leaseUntil === 0) continue;
        // Never shortened (a renewal issued before the run was taken again here).
        runs.set(run.id, { ...run, leaseUntil: Math.max(run.leaseUntil ?? 0, leaseUntil) });
        held.push({ id: run.id, owner, epoch: run.epoch ?? 0 });
      }
      return held;
    },
    async release(owner, leases) {
      for (const { id, epoch } of leases) {
        const run = runs.get(id);
        if (run?.owner === owner && run.epoch === epoch && unfinished(run))
          runs.set(id, { ...run, leaseUntil: 0 });
      }
    },
    async listAdoptable(now, limit, workflows, options) {
      const due = [...runs.values()].filter(
        (r) =>
          unfinished(r) &&
          (r.leaseUntil ?? 0) <= now &&
          (!workflows || workflows.includes(r.workflow)) &&
          !(options?.busyOnly && r.idle),
      );
      return filterRuns(due, { limit }).map(toRecord);
    },
    async listDue(before, now, limit, workflows) {
      const signalled = new Map<string, number>();
      for (const m of inbox.values())
        if (m.state === 'pending')
          signalled.set(m.runId, Math.min(signalled.get(m.runId) ?? m.createdAt, m.createdAt));
      const due: DueRun[] = [];
      for (const r of runs.values()) {
        if (!unfinished(r) || !r.idle || (r.leaseUntil ?? 0) > now) continue;
        if (workflows && !workflows.includes(r.workflow)) continue;
        const deadlines = (timers.get(r.id) ?? []).map((t) => t.deadline).filter((d) => d < before);
        const signal = signalled.get(r.id);
        if (signal !== undefined) deadlines.push(signal);
        if (deadlines.length > 0)
          due.push({
            id: r.id,
            workflow: r.workflow,
            due: Math.min(...deadlines),
            ...(signal !== undefined ? { signalled: true } : {}),
          });
      }
      return due.sort((a, b) => a.due - b.due || (a.id < b.id ? -1 : 1)).slice(0, limit);
    },
    async post(message) {
      // Checked and stored in one synchronous step: a prune (synchronous too) runs wholly before or after it.
      if (!runs.has(message.runId)) throw runNotFound(message.runId);
      if (inbox.has(message.id)) return false;
      inbox.set(message.id, message);
      for (const notify of listeners) notify(message.runId);
      return true;
    },
    async pendingFor(owner, limit) {
      return [...inbox.values()]
        .filter((m) => {
          const run = runs.get(m.runId);
          return m.state === 'pending' && run?.owner === owner && unfinished(run) && run.leaseUntil !== 0;
        })
        .sort((a, b) => a.createdAt - b.createdAt)
        .slice(0, limit);
    },
    async getMessage(id) {
      return inbox.get(id);
    },
    async deleteMessage(id) {
      inbox.delete(id);
    },
    async listen(notify) {
      listeners.add(notify);
      return async () => {
        listeners.delete(notify);
      };
    },
    async getRun(id) {
      return runs.get(id);
    },
    async listRuns(filter: RunFilter = {}) {
      return filterRuns([...runs.values()], filter).map(toRecord);
    },
    async listRunHeads(filter: RunHeadFilter = {}) {
      const ids = filter.ids === undefined ? undefined : new Set(filter.ids);
      const chosen = ids ? [...ids].flatMap((id) => runs.get(id) ?? []) : [...runs.values()];
      return filterRuns(chosen, filter).map(toHead);
    },
    async countRuns(filter: RunFilter = {}) {
      const { status, workflow } = filter;
      return filterRuns([...runs.values()], {
        ...(status === undefined ? {} : { status }),
        ...(workflow === undefined ? {} : { workflow }),
        limit: Number.MAX_SAFE_INTEGER,
      }).length;
    },
    async listJournal(runId) {
      return [...journal.values()]
        .filter((e) => e.runId === runId)
        .sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : 1));
    },
    async listJournalUnder(runId, stepPathPrefix) {
      return [...journal.values()].filter((e) => e.runId === runId && e.stepPath.startsWith(stepPathPrefix));
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
    async pruneEnded(options) {
      const { endedBefore, limit, dryRun, now } = pruneSettings(options);
      const doomed = [...runs.values()]
        .filter((r) => isPrunable(r, endedBefore, now))
        .sort((a, b) => a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : 1))
        .slice(0, limit);
      if (dryRun) return { runs: doomed.length };
      const ids = new Set(doomed.map((r) => r.id));
      for (const id of ids) {
        runs.delete(id);
        timers.delete(id);
      }
      for (const [key, entry] of journal) if (ids.has(entry.runId)) journal.delete(key);
      for (const [id, message] of inbox) if (ids.has(message.runId)) inbox.delete(id);
      return { runs: ids.size };
    },
    async close() {},
  };
}

/** A stored run without its snapshot, input and output. */
function toHead(run: StoredRun): RunHead {
  const { snapshot: _snapshot, input: _input, output: _output, ...head } = run;
  return head;
}

/** A stored run without its snapshot. */
function toRecord(run: StoredRun): RunRecord {
  const { snapshot: _snapshot, ...record } = run;
  return record;
}
