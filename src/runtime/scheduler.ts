import type { Logger } from 'pino';
import type { Clock } from '../machine/clock.js';
import type { WorkflowStore } from '../persistence/types.js';
import { Alarm } from './alarm.js';

/** What the wake-up scheduler asks of its engine. */
export interface WakeHost {
  /** The workflow ids this engine can run: only their runs are looked for. */
  workflows(): string[];
  /** Whether to leave the run alone: it is in memory here already (or being woken), or cannot be restored here. */
  skip(runId: string): boolean;
  /** Takes the run and restores it here; rejects if another engine took it first. */
  wake(runId: string): Promise<unknown>;
}

/** How many due runs one read of the store returns, and how many are restored at once. */
const READ_LIMIT = 1_000;
const WAKE_CONCURRENCY = 16;
/** The most one restore is assumed to cost, so one slow wake-up does not make the scheduler read far ahead. */
const MAX_WAKE_MS = 20;

/**
 * The one wake-up scheduler of an engine that passivates: instead of a timer per passivated run, it reads the store
 * for idle runs no live engine holds that are due soon (a range of the timers' deadline index, `wakeAheadMs +
 * pollMs` ahead, or a pending signal), wakes those due within `wakeAheadMs` (their restored actors then fire their
 * deadlines on time; a burst of runs due together is woken earlier, by what restoring them takes), and sleeps until
 * the next one it saw or `pollMs`, whichever comes first. Several replicas may see one run: taking its lease decides
 * which wakes it, exactly one.
 */
export class WakeScheduler {
  private readonly alarm: Alarm;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** What restoring one run has cost lately (ms, a moving average): the lead a burst of due runs needs. */
  private wakeMs = 1;

  constructor(
    private readonly store: WorkflowStore,
    private readonly clock: Clock,
    private readonly settings: { readonly wakeAheadMs: number; readonly pollMs: number },
    private readonly host: WakeHost,
    private readonly logger: Logger,
  ) {
    this.alarm = new Alarm(clock, () => void this.tick());
  }

  start(): void {
    this.arm(0);
  }

  /** A run due at `at` was just passivated: read the store in time to wake it. */
  expect(at: number): void {
    this.arm(at - this.settings.wakeAheadMs - this.clock.now());
  }

  /** Reads the store again soon (a signal was posted for a run that is not here). */
  soon(): void {
    if (this.ticking) this.again = true;
    else this.arm(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.alarm.stop();
    await this.ticking;
  }

  /** One read and its wake-ups (what the timer runs; tests call it directly). */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Reads the store `delayMs` from now, or earlier if it is due to already. */
  private arm(delayMs: number): void {
    this.alarm.armAt(this.clock.now() + Math.max(0, delayMs));
  }

  private async round(): Promise<void> {
    const { wakeAheadMs, pollMs } = this.settings;
    let next = this.clock.now() + pollMs;
    try {
      do {
        this.again = false;
        const now = this.clock.now();
        next = now + pollMs;
        const workflows = this.host.workflows();
        if (workflows.length === 0 || !this.store.listDue) break;
        // Runs due together are restored one after another: the k-th is woken k restores earlier than one alone,
        // so the last of a burst is in memory before its deadline too.
        const backlog = READ_LIMIT * this.wakeMs;
        const due = await this.store.listDue(
          Math.ceil(now + wakeAheadMs + pollMs + backlog),
          Date.now(),
          READ_LIMIT,
          workflows,
        );
        const wake: string[] = [];
        let queued = 0;
        for (const run of due) {
          if (this.host.skip(run.id)) continue;
          queued++;
          // A signalled run is due now: its signal's post time is wall time, which this engine's clock may lag.
          const at = run.signalled ? now : run.due - wakeAheadMs - queued * this.wakeMs;
          if (at <= now) wake.push(run.id);
          else if (at < next) next = at;
        }
        const started = performance.now();
        await this.wakeAll(wake);
        if (wake.length > 0) {
          const each = (performance.now() - started) / wake.length;
          this.wakeMs = Math.min(MAX_WAKE_MS, 0.7 * this.wakeMs + 0.3 * each);
        }
        // A full read may have left due runs out: read again at once.
        if (due.length === READ_LIMIT && wake.length > 0) this.again = true;
      } while (this.again && !this.stopped);
    } catch (error) {
      this.logger.warn({ err: error }, 'reading due passivated runs failed; retrying at the next poll');
    }
    this.arm(next - this.clock.now());
  }

  private async wakeAll(ids: readonly string[]): Promise<void> {
    let at = 0;
    const worker = async () => {
      while (at < ids.length && !this.stopped) {
        const id = ids[at++] as string;
        await this.host.wake(id).catch((error: unknown) => {
          // Another replica took it first, or it ended meanwhile: nothing to do here.
          this.logger.debug({ err: error, workflowId: id }, 'due run not woken here');
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(WAKE_CONCURRENCY, ids.length) }, worker));
  }
}
