import { createHash } from 'node:crypto';
/**
 * The live side of the web view: polls the store for the runs someone watches and tells their streams what changed.
 * Polling (not PostgreSQL LISTEN/NOTIFY) works the same on every store. What is polled is the runs' heads
 * (`listRunHeads`: ids, statuses, times and leases, never an input, output or snapshot), so an idle poll costs the
 * same whatever the runs carry: the watched runs' heads in one read every `pollMs` (50 ms: a step's end reaches the
 * page well within 250 ms), the unfinished runs' heads every `4 × pollMs` for the list. A run is read whole (with its
 * journal and timers) only when its head changed, and a run that ended (final: nothing writes it again) is looked at
 * every 5 s only. Only runs with a subscriber are polled. (On SQLite a head read still steps over the pages of a
 * large input or output stored before the head's last columns, from the page cache: much cheaper than reading and
 * parsing them, not free. PostgreSQL keeps large values out of the row.)
 */
import type { RunHead, RunHeadFilter, WorkflowStore } from '../../persistence/types.js';
import { UNFINISHED } from '../../persistence/types.js';
import type { RunDetail, RunRow, RunViews } from './run-view.js';

/** Gets a run's page data (and the same as JSON, serialized once for every subscriber). */
type RunListener = (detail: RunDetail, json: string) => void;

/** What the list stream tells: the ids of the runs that started, moved or ended, and their rows (without percent). */
export interface ListChange {
  readonly ids: readonly string[];
  /** The rows of the changed runs still stored, from their heads: an unfinished run's `percent` and `etaMs` are null. */
  readonly rows: readonly RunRow[];
}

/** One watched run, shared by its subscribers. */
interface RunWatch {
  readonly listeners: Set<RunListener>;
  /** The head last read whole ({@link stampOf}); '' before the first read. */
  stamp: string;
  /** What the last push was made of (the stamp, the snapshot's digest, the journal's and timers' counts). */
  pushed: string;
  /** Read whole at the next poll whatever its head says (a new subscriber, a signal just sent). */
  due: boolean;
  /**
   * When to read the run whole once more, its head unchanged (0: no need). Two checkpoints in the same millisecond
   * have the same head: the run last read shortly after its `updatedAt` is read again once, later.
   */
  settleAt: number;
  /** An ended run does not change any more: its head is read only every {@link ENDED_POLL_MS}, from this time on. */
  endedUntil: number;
}

/** How long after a checkpoint's `updatedAt` a read may have missed another of the same millisecond. */
const SETTLE_MS = 500;
/**
 * How often the head of a watched run that ended is read: an ended run is final (nothing takes or writes it again),
 * read only to see it deleted (pruned) and its id taken by a new run.
 */
const ENDED_POLL_MS = 5_000;
/** The most ids one heads read asks for. */
const IDS_PER_READ = 500;

/**
 * What tells that a run changed: a checkpoint moves `updatedAt` (and maybe the status), a takeover the owner and
 * epoch, a release the lease. A lease renewal (`leaseUntil` moving on) is not a change.
 */
function stampOf(head: RunHead): string {
  return `${head.updatedAt}|${head.status}|${head.owner ?? ''}|${head.epoch ?? ''}|${head.leaseUntil === 0 ? 0 : 1}`;
}

/** Polls the store for watched runs and the runs list. */
export class RunFeed {
  private readonly runs = new Map<string, RunWatch>();
  private runTimer: NodeJS.Timeout | undefined;
  private runsBusy = false;
  private runsAgain = false;
  private readonly lists = new Set<(change: ListChange) => void>();
  private listTimer: NodeJS.Timeout | undefined;
  /** The stamps of the unfinished runs at the last list poll; `undefined` until the first poll after a start. */
  private listMarks: Map<string, string> | undefined;
  private primed: Promise<void> | undefined;
  private listBusy = false;

  constructor(
    private readonly store: WorkflowStore,
    private readonly views: RunViews,
    private readonly pollMs: number,
  ) {}

  /** A run's page data now, or `undefined` if the store has no such run. */
  async detail(id: string): Promise<RunDetail | undefined> {
    return (await this.read(id))?.detail;
  }

  /**
   * Heads of runs, in the filter's order: the store's `listRunHeads`, else its `listRuns` (or, by ids, `getRun`)
   * with the payloads left out.
   */
  async heads(filter: RunHeadFilter): Promise<RunHead[]> {
    if (this.store.listRunHeads) return this.store.listRunHeads(filter);
    const { ids, ...rest } = filter;
    if (ids === undefined) return (await this.store.listRuns(rest)).map(headOf);
    const found = await Promise.all(ids.map((id) => this.store.getRun(id)));
    return found.flatMap((run) => (run ? [headOf(run)] : []));
  }

  /** Calls `listener` with the run's data now and at every change; returns the unsubscribe function. */
  onRun(id: string, listener: RunListener): () => void {
    let watch = this.runs.get(id);
    if (!watch) {
      watch = { listeners: new Set(), stamp: '', pushed: '', due: true, settleAt: 0, endedUntil: 0 };
      this.runs.set(id, watch);
    }
    // A new subscriber gets the current state at once (pushed to every subscriber of the run).
    watch.due = true;
    watch.pushed = '';
    watch.listeners.add(listener);
    if (!this.runTimer) {
      this.runTimer = setInterval(() => void this.pollRuns(false), this.pollMs);
      this.runTimer.unref();
    }
    void this.pollRuns(true);
    return () => {
      const w = this.runs.get(id);
      if (!w) return;
      w.listeners.delete(listener);
      if (w.listeners.size === 0) this.runs.delete(id);
      if (this.runs.size === 0 && this.runTimer) {
        clearInterval(this.runTimer);
        this.runTimer = undefined;
      }
    };
  }

  /** Polls a watched run now (after a signal, say), without waiting for its next tick. */
  poke(id: string): void {
    const watch = this.runs.get(id);
    if (!watch) return;
    watch.due = true;
    void this.pollRuns(true);
  }

  /**
   * Calls `listener` with the runs that started, moved or ended from now on; returns the unsubscribe function.
   * {@link listPrimed} tells when the poller knows the runs as they are now.
   */
  onList(listener: (change: ListChange) => void): () => void {
    this.lists.add(listener);
    if (!this.listTimer) {
      this.listTimer = setInterval(() => void this.pollList(), this.pollMs * 4);
      this.listTimer.unref();
      this.primed = this.pollList();
    }
    return () => {
      this.lists.delete(listener);
      if (this.lists.size === 0 && this.listTimer) {
        clearInterval(this.listTimer);
        this.listTimer = undefined;
        this.listMarks = undefined;
        this.primed = undefined;
      }
    };
  }

  /**
   * Resolves once the list poller knows the unfinished runs as they are (its first poll after it started): a page
   * read after this misses no change the list stream would tell.
   */
  listPrimed(): Promise<void> {
    return this.primed ?? Promise.resolve();
  }

  /** Stops every poller. */
  close(): void {
    if (this.runTimer) clearInterval(this.runTimer);
    this.runTimer = undefined;
    this.runs.clear();
    if (this.listTimer) clearInterval(this.listTimer);
    this.listTimer = undefined;
    this.lists.clear();
  }

  /** The run read whole, its page data built, and what it was built of. */
  private async read(id: string): Promise<{ detail: RunDetail; head: RunHead; made: string } | undefined> {
    const stored = await this.store.getRun(id);
    if (!stored) return undefined;
    const [journal, timers] = await Promise.all([
      this.store.listJournal ? this.store.listJournal(id) : Promise.resolve([]),
      this.store.listTimers(id),
    ]);
    const detail = this.views.detail(stored, journal, timers, Date.now());
    // The snapshot's digest, not its length: a second checkpoint of the same millisecond may be as long as the first
    // (a state `stepA` moved to `stepB`). Made only when a run is read whole, which its head says is seldom.
    const digest = createHash('sha1').update(stored.snapshot).digest('base64');
    const made = `${stampOf(stored)}|${digest}|${journal.length}|${timers.length}`;
    return { detail, head: headOf(stored), made };
  }

  /**
   * One poll of the watched runs: their heads in one read, then each run whose head changed (or that is due) read
   * whole and pushed. `urgent` (a new subscriber, a poke) polls again at once if a poll is under way.
   */
  private async pollRuns(urgent: boolean): Promise<void> {
    if (this.runsBusy) {
      if (urgent) this.runsAgain = true;
      return;
    }
    this.runsBusy = true;
    try {
      do {
        this.runsAgain = false;
        await this.pollRunsOnce();
      } while (this.runsAgain && this.runs.size > 0);
    } catch {
      // The store is down or busy: the next tick tries again.
    } finally {
      this.runsBusy = false;
    }
  }

  private async pollRunsOnce(): Promise<void> {
    const now = Date.now();
    const ids = [...this.runs].filter(([, w]) => w.due || now >= w.endedUntil).map(([id]) => id);
    if (ids.length === 0) return;
    const stamps = new Map<string, string>();
    if (this.store.listRunHeads)
      for (let i = 0; i < ids.length; i += IDS_PER_READ) {
        const some = ids.slice(i, i + IDS_PER_READ);
        for (const head of await this.store.listRunHeads({ ids: some, limit: some.length }))
          stamps.set(head.id, stampOf(head));
      }
    const changed = ids.filter((id) => {
      const watch = this.runs.get(id);
      if (!watch) return false;
      // An ended run is looked at again in a while (read whole below if its head changed after all).
      if (watch.endedUntil !== 0) watch.endedUntil = now + ENDED_POLL_MS;
      // A store without heads: every run is read whole, as it cannot tell which changed.
      if (!this.store.listRunHeads) return true;
      const stamp = stamps.get(id);
      // Not stored (yet, or any more): nothing to push.
      if (stamp === undefined) return false;
      return watch.due || stamp !== watch.stamp || (watch.settleAt !== 0 && now >= watch.settleAt);
    });
    await Promise.all(changed.map((id) => this.pushRun(id)));
  }

  private async pushRun(id: string): Promise<void> {
    const watch = this.runs.get(id);
    if (!watch) return;
    const started = Date.now();
    watch.due = false;
    let read: Awaited<ReturnType<RunFeed['read']>>;
    try {
      read = await this.read(id);
    } catch (error) {
      watch.due = true;
      throw error;
    }
    if (!read) return;
    const stamp = stampOf(read.head);
    const news = stamp !== watch.stamp || read.made !== watch.pushed;
    watch.stamp = stamp;
    const ended = !UNFINISHED.includes(read.head.status);
    // A read that found something new is followed by one more, SETTLE_MS later on this server's clock: a checkpoint
    // written in the same millisecond after this read has the same head. Timed from this server's reading, not the
    // run's `updatedAt`, which another machine's clock wrote (skewed, it would never look recent). Nothing is
    // written after a run's end: no later checkpoint to look for.
    watch.settleAt = !ended && news ? started + SETTLE_MS : 0;
    watch.endedUntil = ended ? Date.now() + ENDED_POLL_MS : 0;
    if (read.made === watch.pushed) return;
    watch.pushed = read.made;
    const json = JSON.stringify(read.detail);
    for (const listener of watch.listeners) listener(read.detail, json);
  }

  private async pollList(): Promise<void> {
    if (this.listBusy) return;
    this.listBusy = true;
    try {
      const heads = await this.heads({ status: UNFINISHED, limit: 5_000, order: 'newest' });
      const marks = new Map(heads.map((h) => [h.id, stampOf(h)]));
      const before = this.listMarks;
      // The first poll learns the runs as they are: a page loaded after it shows them so.
      if (!before) {
        if (this.listTimer) this.listMarks = marks;
        return;
      }
      const moved = heads.filter((h) => before.get(h.id) !== marks.get(h.id));
      // A run that left the unfinished set ended (or was deleted): its head says how it ended.
      const left = [...before.keys()].filter((id) => !marks.has(id));
      if (moved.length === 0 && left.length === 0) return;
      const ended = left.length > 0 ? await this.heads({ ids: left, limit: left.length }) : [];
      // Only now (a failed read leaves the changes to the next poll), and only while someone listens.
      if (!this.listTimer) return;
      this.listMarks = marks;
      const now = Date.now();
      const change: ListChange = {
        ids: [...moved.map((h) => h.id), ...left],
        rows: [...moved, ...ended].map((h) => this.views.row(h, undefined, now)),
      };
      for (const listener of this.lists) listener(change);
    } catch {
      // Next tick.
    } finally {
      this.listBusy = false;
    }
  }
}

/** A record's head: without its input, output and snapshot. */
function headOf(record: RunHead & { input?: unknown; output?: unknown; snapshot?: string }): RunHead {
  const { input: _input, output: _output, snapshot: _snapshot, ...head } = record;
  return head;
}
