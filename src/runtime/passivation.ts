import type { AnyActorRef } from 'xstate';
import { isWaitTimeout } from '../machine/compile-wait.js';
import type { HeldLease, RunLease, TimerRow } from '../persistence/types.js';
import { Alarm } from './alarm.js';
import type { Durability } from './durability.js';
import type { EngineCore } from './engine-core.js';
import type { PassivationSettings } from './passivate-options.js';
import type { WorkflowRun } from './run.js';
import { type WakeHost, WakeScheduler } from './scheduler.js';

/** How soon a run that could not be passivated at its sweep (it changed meanwhile) is looked at again. */
const RETRY_MS = 100;

/**
 * An engine's passivation: its sweeps, told by every checkpoint whether the run only waits, and its one wake-up
 * scheduler, told when passivated runs are released (and so due for any engine).
 */
export function passivating(
  core: EngineCore,
  durability: Durability,
  settings: PassivationSettings,
  host: WakeHost,
): { passivation: Passivation; scheduler: WakeScheduler } {
  const passivation = new Passivation(settings, core);
  durability.taken = (runId, idle, timers) => passivation.taken(runId, idle, timers);
  const scheduler = new WakeScheduler(durability.store, core.clock, settings, host, core.logger);
  passivation.onReleased((next) => scheduler.expect(next));
  return { passivation, scheduler };
}

/** Since when a live run only waits, and its next deadline (as of its last checkpoint). */
interface Quiet {
  readonly since: number;
  next: number;
}

/**
 * Drops runs that only wait from memory. Each checkpoint tells it whether its run only waits; one timer per engine
 * sweeps the runs quiet for `afterMs`. A run is passivated only once its current state is committed (nothing of it
 * queued, the last checkpoint written says `idle`): its actor is stopped without cancelling it (no abort, no
 * compensation, nothing more written), and its lease released, so any engine on the store may wake it.
 */
class Passivation {
  private readonly quiet = new Map<string, Quiet>();
  /** Releases in flight: a wake of the run waits for its release, which must not end the next lease. */
  private readonly releasing = new Map<string, Promise<void>>();
  /**
   * The run objects a caller may still hold for each passivated run (their results follow the copy woken here):
   * its last copy, and every earlier copy that follows it. Weakly: they must not stay alive for this.
   */
  private readonly followers = new Map<string, WeakRef<WorkflowRun>[]>();
  /**
   * The earlier copies that follow a woken copy. When that copy is passivated in turn, they are what a caller may
   * hold: nothing else leads to them from the run's id once the copy in between is collected.
   */
  private readonly following = new WeakMap<WorkflowRun, WeakRef<WorkflowRun>[]>();
  private readonly collected = new FinalizationRegistry<string>((id) => {
    const live = this.followers.get(id)?.filter((ref) => ref.deref() !== undefined) ?? [];
    if (live.length === 0) this.followers.delete(id);
    else this.followers.set(id, live);
  });
  /** Releases waiting to be retried (the store failed them): woken at once by `stop()`. */
  private readonly retrying = new Set<() => void>();
  private readonly alarm: Alarm;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private released$: (next: number) => void = () => {};
  /** How many runs this engine passivated (for tests and the bench). */
  passivated = 0;

  constructor(
    readonly settings: PassivationSettings,
    private readonly core: EngineCore,
  ) {
    this.alarm = new Alarm(core.clock, () => void this.sweep());
  }

  /** A checkpoint of the run was taken: it only waits (`idle`), with these deadlines, or it works. */
  taken(runId: string, idle: boolean, timers: readonly TimerRow[]): void {
    if (!idle) {
      this.quiet.delete(runId);
      return;
    }
    let next = Number.POSITIVE_INFINITY;
    for (const t of timers) if (t.deadline < next) next = t.deadline;
    const was = this.quiet.get(runId);
    if (was) {
      was.next = next;
      return;
    }
    const since = this.core.clock.now();
    this.quiet.set(runId, { since, next });
    this.alarm.armAt(since + this.settings.afterMs);
  }

  /** Tells `listener` the earliest deadline of runs whose release committed (the scheduler wakes them from then). */
  onReleased(listener: (next: number) => void): void {
    this.released$ = listener;
  }

  /** Resolves once a release of the run's lease by its passivation is committed (a wake must come after it). */
  released(runId: string): Promise<void> | undefined {
    return this.releasing.get(runId);
  }

  /** The run was woken here: a run object held for its passivated copy follows it. */
  woken(run: WorkflowRun): void {
    const refs = this.followers.get(run.id);
    this.followers.delete(run.id);
    const held: WeakRef<WorkflowRun>[] = [];
    for (const ref of refs ?? []) {
      const copy = ref.deref();
      if (!copy || copy === run) continue;
      copy.follow(run);
      held.push(ref);
    }
    if (held.length > 0) this.following.set(run, held);
  }

  /** Stops the sweeps (close()): the runs still here are handed over by the engine. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.alarm.stop();
    await this.sweeping;
    for (const wake of this.retrying) wake();
    this.retrying.clear();
    await Promise.allSettled(this.releasing.values());
  }

  /** Sweeps now the runs quiet for `afterMs`: what the timer does (tests call it to skip waiting). */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepRound().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepRound(): Promise<void> {
    const { durability } = this.core;
    if (!durability || this.stopped) return;
    const now = this.core.clock.now();
    const ready: string[] = [];
    for (const [id, q] of this.quiet) if (q.since + this.settings.afterMs <= now) ready.push(id);
    if (ready.length > 0) {
      // What was queued before the sweep is committed first: a run is dropped only with its state in the store.
      await durability.writer.flush().catch(() => {});
      let next = Number.POSITIVE_INFINITY;
      const parked: HeldLease[] = [];
      for (const id of ready) {
        const at = this.quiet.get(id)?.next ?? Number.POSITIVE_INFINITY;
        const held = this.park(id);
        if (!held) continue;
        parked.push({ id, epoch: held.epoch });
        next = Math.min(next, at);
      }
      if (parked.length > 0) {
        const release = this.release(parked);
        for (const { id } of parked) this.releasing.set(id, release);
        void release.then(() => {
          for (const { id } of parked) if (this.releasing.get(id) === release) this.releasing.delete(id);
          if (next < Number.POSITIVE_INFINITY) this.released$(next);
        });
      }
    }
    // The next sweep: when the next run has waited long enough; a run left here (changed since its last checkpoint
    // was taken, its lease not confirmed yet) is looked at again shortly.
    const after = this.core.clock.now();
    let later = Number.POSITIVE_INFINITY;
    for (const q of this.quiet.values())
      later = Math.min(later, Math.max(q.since + this.settings.afterMs, after + RETRY_MS));
    if (later < Number.POSITIVE_INFINITY) this.alarm.armAt(later);
  }

  /**
   * Releases the leases of runs passivated here, retried with backoff until the store takes it. A failed release
   * cannot be left to expire: this engine's renewals take every unreleased lease of its owner (one statement), so
   * the run would stay leased, never found due nor adoptable, for as long as this engine lives. A wake of these
   * runs waits for their release (`released`); after `stop()` the lease is no longer renewed and expires.
   */
  private async release(leases: readonly HeldLease[]): Promise<void> {
    const { durability, lease, logger, clock } = this.core;
    if (!durability) return;
    for (let failures = 0, delay = 50; ; failures++, delay = Math.min(delay * 2, 5_000)) {
      try {
        // At the epochs passivated: a retry that lands after the run was taken again ends no newer lease.
        return await durability.store.release(lease.owner, leases);
      } catch (error) {
        if (failures === 0 || failures % 10 === 0)
          logger.warn({ err: error, failures: failures + 1 }, 'passivated runs not released yet; retrying');
        if (this.stopped) return;
        await new Promise<void>((resolve) => {
          const timer = clock.setTimeout(() => {
            this.retrying.delete(resolve);
            resolve();
          }, delay);
          (timer as { unref?: () => void }).unref?.();
          this.retrying.add(resolve);
        });
        if (this.stopped) return;
      }
    }
  }

  /** Drops one run from memory if it still only waits with its state committed; the lease it held, if it did. */
  private park(id: string): RunLease | undefined {
    const { durability, table, clock } = this.core;
    const entry = table.get(id);
    const quiet = this.quiet.get(id);
    if (!durability || !entry || !quiet || entry.phase !== 'live' || entry.stopReason || this.core.closed) {
      this.quiet.delete(id);
      return undefined;
    }
    // Changed since its last checkpoint was taken (a new one is queued), or its last write is not committed yet (a
    // batch in flight, taken after the sweep's flush): released now, the release could commit before that write, on
    // another connection, and another engine take the run from its earlier state. Looked at again shortly.
    if (!durability.writer.committed(id)) return undefined;
    // A deadline this close would only wake it again at once.
    if (quiet.next - clock.now() <= 2 * this.settings.wakeAheadMs) {
      this.quiet.delete(id);
      return undefined;
    }
    // A hand-written machine's own `after` delays live in XState's scheduler only: they would be lost.
    if (scheduledEvents(entry.run.actor) > 0) {
      this.quiet.delete(id);
      return undefined;
    }
    // Without a `secrets` hook a secret is stored as `[redacted]`: woken from the store, the run would go on without
    // it. It stays in memory (a crash still loses it, as documented; a routine passivation must not).
    if (!durability.secrets && (entry.identity.secrets?.size ?? 0) > 0) {
      this.quiet.delete(id);
      return undefined;
    }
    const held = durability.leases.get(id);
    if (!held) return undefined;
    this.quiet.delete(id);
    entry.passivated = true;
    // Nothing of this copy is written from now on: it has no lease here.
    durability.leases.delete(id);
    this.followers.set(id, [...(this.following.get(entry.run) ?? []), new WeakRef(entry.run)]);
    this.collected.register(entry.run, id);
    entry.run.passivate();
    entry.run.actor.stop();
    this.passivated++;
    this.core.logger.debug({ workflowId: id, epoch: held.epoch }, 'run passivated');
    return held;
  }
}

/** How many delayed events XState holds for an actor's system (a hand-written machine's `after`). */
function scheduledEvents(actor: AnyActorRef): number {
  const system = actor.system as {
    getSnapshot?: () => { _scheduledEvents?: Record<string, { id?: unknown }> };
  };
  let count = 0;
  // A wait's timeout is one of them, but its deadline is in the snapshot: a woken run arms it again.
  for (const e of Object.values(system.getSnapshot?.()._scheduledEvents ?? {}))
    if (!isWaitTimeout(e.id)) count++;
  return count;
}
