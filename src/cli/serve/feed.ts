/**
 * The live side of the web view: polls the store for the runs someone watches and tells their streams what changed.
 * Polling (not PostgreSQL LISTEN/NOTIFY) works the same on every store: a run page costs one primary-key read per
 * `pollMs` (50 ms: a step's end reaches the page well within 250 ms), the list one read of the unfinished runs'
 * index per `4 × pollMs`. Only runs with a subscriber are polled.
 */
import type { WorkflowStore } from '../../persistence/types.js';
import { UNFINISHED } from '../../persistence/types.js';
import type { RunDetail, RunViews } from './run-view.js';

type RunListener = (detail: RunDetail) => void;

/** One poller per watched run, shared by its subscribers. */
interface RunWatch {
  readonly listeners: Set<RunListener>;
  timer: NodeJS.Timeout | undefined;
  /** What the last poll saw: updatedAt, status and snapshot length (a checkpoint changes at least one). */
  mark: string;
  busy: boolean;
}

/** Polls the store for watched runs and the runs list. */
export class RunFeed {
  private readonly runs = new Map<string, RunWatch>();
  private readonly lists = new Set<(ids: string[]) => void>();
  private listTimer: NodeJS.Timeout | undefined;
  private listMarks = new Map<string, string>();
  private listBusy = false;

  constructor(
    private readonly store: WorkflowStore,
    private readonly views: RunViews,
    private readonly pollMs: number,
  ) {}

  /** A run's page data now, or `undefined` if the store has no such run. */
  async detail(id: string): Promise<RunDetail | undefined> {
    const stored = await this.store.getRun(id);
    if (!stored) return undefined;
    const [journal, timers] = await Promise.all([
      this.store.listJournal ? this.store.listJournal(id) : Promise.resolve([]),
      this.store.listTimers(id),
    ]);
    return this.views.detail(stored, journal, timers, Date.now());
  }

  /** Calls `listener` with the run's data now and at every change; returns the unsubscribe function. */
  onRun(id: string, listener: RunListener): () => void {
    let watch = this.runs.get(id);
    if (!watch) {
      watch = { listeners: new Set(), timer: undefined, mark: '', busy: false };
      this.runs.set(id, watch);
      const w = watch;
      w.timer = setInterval(() => void this.pollRun(id, w), this.pollMs);
      w.timer.unref();
    } else if (watch.mark !== '') {
      // A new subscriber gets the current state at once, from the next poll.
      watch.mark = '';
    }
    watch.listeners.add(listener);
    void this.pollRun(id, watch);
    return () => {
      const w = this.runs.get(id);
      if (!w) return;
      w.listeners.delete(listener);
      if (w.listeners.size === 0) {
        clearInterval(w.timer);
        this.runs.delete(id);
      }
    };
  }

  /** Polls a watched run now (after a signal, say), without waiting for its next tick. */
  poke(id: string): void {
    const watch = this.runs.get(id);
    if (watch) void this.pollRun(id, watch);
  }

  /** Calls `listener` with the ids of runs that started, moved or ended; returns the unsubscribe function. */
  onList(listener: (ids: string[]) => void): () => void {
    this.lists.add(listener);
    if (!this.listTimer) {
      this.listTimer = setInterval(() => void this.pollList(), this.pollMs * 4);
      this.listTimer.unref();
    }
    return () => {
      this.lists.delete(listener);
      if (this.lists.size === 0 && this.listTimer) {
        clearInterval(this.listTimer);
        this.listTimer = undefined;
        this.listMarks = new Map();
      }
    };
  }

  /** Stops every poller. */
  close(): void {
    for (const w of this.runs.values()) clearInterval(w.timer);
    this.runs.clear();
    if (this.listTimer) clearInterval(this.listTimer);
    this.lists.clear();
  }

  private async pollRun(id: string, watch: RunWatch): Promise<void> {
    if (watch.busy) return;
    watch.busy = true;
    try {
      const stored = await this.store.getRun(id);
      if (!stored) return;
      const mark = `${stored.updatedAt}|${stored.status}|${stored.snapshot.length}`;
      if (mark === watch.mark) return;
      watch.mark = mark;
      const [journal, timers] = await Promise.all([
        this.store.listJournal ? this.store.listJournal(id) : Promise.resolve([]),
        this.store.listTimers(id),
      ]);
      const detail = this.views.detail(stored, journal, timers, Date.now());
      for (const listener of watch.listeners) listener(detail);
    } catch {
      // The store is down or busy: the next tick tries again.
    } finally {
      watch.busy = false;
    }
  }

  private async pollList(): Promise<void> {
    if (this.listBusy) return;
    this.listBusy = true;
    try {
      const runs = await this.store.listRuns({ status: UNFINISHED, limit: 5_000, order: 'newest' });
      const marks = new Map(runs.map((r) => [r.id, `${r.updatedAt}|${r.status}`]));
      const changed = [...marks].filter(([id, mark]) => this.listMarks.get(id) !== mark).map(([id]) => id);
      // A run that left the unfinished set ended.
      for (const id of this.listMarks.keys()) if (!marks.has(id)) changed.push(id);
      this.listMarks = marks;
      if (changed.length > 0) for (const listener of this.lists) listener(changed);
    } catch {
      // Next tick.
    } finally {
      this.listBusy = false;
    }
  }
}
