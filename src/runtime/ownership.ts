import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { HeldLease, RunRecord } from '../persistence/types.js';
import type { Durability } from './durability.js';

/** What adoption knows of a run it may take: its id and definition id. */
export type AdoptableRun = Pick<RunRecord, 'id' | 'workflow'>;

/** Lease settings with their defaults applied. */
export interface LeaseSettings {
  readonly owner: string;
  readonly ttlMs: number;
  readonly adopt: boolean;
}

/** The defaults of `createEngine({ lease })`. */
export function leaseSettings(
  options: { ttlMs?: number; adopt?: boolean; owner?: string } = {},
): LeaseSettings {
  return {
    owner: options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    ttlMs: options.ttlMs ?? 15_000,
    adopt: options.adopt ?? true,
  };
}

/** What the lease loops ask of the engine. */
export interface OwnershipHost {
  /** The run's lease moved on: stop this engine's copy. */
  lose(runId: string): void;
  /** Takes a run whose owner is gone (resume it here); rejects if it cannot. */
  adopt(run: AdoptableRun): Promise<unknown>;
  /** Whether the run is in memory here or being claimed or taken here (its lease may not be recorded yet). */
  taking(runId: string): boolean;
  /** Whether this engine can run the run (its definition is registered, it is not already here). */
  canAdopt(run: AdoptableRun): boolean;
  /** The workflow ids this engine can run: only their runs are looked for, so others never crowd them out. */
  workflows(): string[];
  /**
   * The engine passivates: its wake-up scheduler wakes idle runs when due, so adoption takes only busy ones. Without
   * it, adoption also takes idle runs that are due (see {@link Ownership.adoptExpired}).
   */
  readonly leaveIdle?: boolean;
}

/**
 * Keeps this engine's leases: renews them all in one statement every `ttlMs / 3` (a run missing from the answer, or
 * held at another epoch, was taken by another engine: its copy here stops), and with `adopt` takes runs whose
 * owner's lease expired about every `ttlMs / 2`. Leases run on wall-clock time, whatever clock runs the workflows:
 * they are about liveness across processes.
 */
export class Ownership {
  private renewTimer: NodeJS.Timeout | undefined;
  private adoptTimer: NodeJS.Timeout | undefined;
  private adopting: Promise<void> | undefined;
  private renewing: Promise<void> | undefined;
  /** Until when every lease of this engine is known to hold (the last renewal's start + ttl). */
  private confirmedUntil = Date.now() + Number.MAX_SAFE_INTEGER / 2;
  private confirmedWaiters: Array<() => void> = [];
  /** Releases of stray leases in flight: taking one of those runs here waits for it (it must not end the new lease). */
  private readonly releasing = new Map<string, Promise<void>>();

  constructor(
    readonly settings: LeaseSettings,
    private readonly durability: Durability,
    private readonly host: OwnershipHost,
    private readonly logger: Logger,
  ) {}

  /** When a lease taken now ends. */
  until(): number {
    return Date.now() + this.settings.ttlMs;
  }

  /** Resolves once a release of the run's stray lease by a renewal round is committed (taking it must come after). */
  released(runId: string): Promise<void> | undefined {
    return this.releasing.get(runId);
  }

  /**
   * A lease taken or renewed by a call issued at `issuedAt` holds until `issuedAt + ttl`. A renewal answered after
   * that has passed confirms nothing: another engine may have taken the runs meanwhile (the gate stays shut until a
   * renewal answers in time).
   */
  confirm(issuedAt: number): void {
    this.confirmedUntil = Math.max(this.confirmedUntil, issuedAt + this.settings.ttlMs);
    if (Date.now() >= this.confirmedUntil) return;
    const waiters = this.confirmedWaiters;
    this.confirmedWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * `undefined` while this engine's leases surely hold; else a promise of the next successful renewal. Agent calls
   * wait on it: a copy that may have lost its run (renewals failing past the ttl) starts no new work meanwhile.
   */
  gate(): Promise<void> | undefined {
    if (Date.now() < this.confirmedUntil) return undefined;
    return new Promise((resolve) => this.confirmedWaiters.push(resolve));
  }

  start(): void {
    this.confirmedUntil = Date.now() + this.settings.ttlMs;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(10, this.settings.ttlMs / 3));
    this.renewTimer.unref();
    if (this.settings.adopt) {
      this.adoptTimer = setInterval(() => void this.adoptExpired(), Math.max(10, this.settings.ttlMs / 2));
      this.adoptTimer.unref();
    }
  }

  /** Stops the loops and waits for a round in flight (so none renews a lease after `close()` released it). */
  async stop(): Promise<void> {
    clearInterval(this.renewTimer);
    clearInterval(this.adoptTimer);
    await Promise.allSettled([this.renewing, this.adopting, ...this.releasing.values()]);
  }

  /** Renews every lease of this engine; stops the copies of runs another engine took. One round at a time. */
  renew(): Promise<void> {
    this.renewing ??= this.renewRound().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renewRound(): Promise<void> {
    const { leases, store } = this.durability;
    const issuedAt = Date.now();
    if (leases.size === 0) return this.confirm(issuedAt);
    // Only leases held before the call are judged by its answer: a run claimed meanwhile is not in it yet.
    const before = new Map(leases);
    let held: Awaited<ReturnType<typeof store.renew>>;
    try {
      held = await store.renew(this.settings.owner, issuedAt + this.settings.ttlMs);
    } catch (error) {
      this.logger.warn({ err: error }, 'lease renewal failed; retrying at the next round');
      return;
    }
    this.releaseStrays(held);
    const epochs = new Map(held.map((h) => [h.id, h.epoch]));
    let unsure = false;
    for (const [id, lease] of before) {
      if (leases.get(id) !== lease) continue;
      const epoch = epochs.get(id);
      if (epoch === lease.epoch) continue;
      // A run that just ended leaves the renewal too: one missing from it is lost unless its row is still ours.
      if (epoch === undefined) {
        let stored: Awaited<ReturnType<typeof store.getRun>>;
        try {
          stored = await store.getRun(id);
        } catch {
          unsure = true;
          continue;
        }
        if (stored && stored.owner === lease.owner && stored.epoch === lease.epoch) continue;
      }
      leases.delete(id);
      this.host.lose(id);
    }
    // Only now may agent calls go on: the copies of lost runs are stopped first, so none of them calls an agent.
    if (!unsure) this.confirm(issuedAt);
  }

  /**
   * Releases the leases a renewal took that this engine does not hold: left by an earlier process under the same
   * `owner` (runs it left idle, which `recover()` of an engine that passivates does not take), or by a release that
   * failed. The renewal takes every unreleased lease of the owner in one statement: renewed forever, such a run is
   * never adoptable nor due for any engine.
   */
  private releaseStrays(renewed: readonly HeldLease[]): void {
    const { leases, store } = this.durability;
    // At the epoch the renewal saw: a run taken here again meanwhile (a new epoch) keeps its new lease.
    const strays = renewed.filter(({ id }) => !leases.has(id) && !this.host.taking(id));
    if (strays.length === 0) return;
    // Not awaited: a slow release must not hold up the renewal (nor the lease gate it reopens).
    const release = store
      .release(this.settings.owner, strays)
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'stray leases not released; retrying at the next round');
      })
      .finally(() => {
        for (const { id } of strays) if (this.releasing.get(id) === release) this.releasing.delete(id);
      });
    for (const { id } of strays) this.releasing.set(id, release);
  }

  /**
   * Takes unfinished runs whose owner's lease ended: those busy at their last checkpoint at once; idle ones (waiting
   * for an event, a decision or a deadline: a passivated run, or one a crashed owner left waiting) only once they are
   * due. An engine that passivates leaves those to its wake-up scheduler; one without it takes the runs a signal
   * waits for or whose deadline comes within a ttl (two rounds: a late round still finds it in time), so their timers fire here on time. It never
   * takes an idle run back into memory only because no engine holds it: that would undo the passivation of the
   * engines beside it. A store without `listDue` keeps no passivated runs: every run whose lease ended is taken.
   */
  adoptExpired(): Promise<void> {
    this.adopting ??= this.adoptRound().finally(() => {
      this.adopting = undefined;
    });
    return this.adopting;
  }

  private async adoptRound(): Promise<void> {
    const { store } = this.durability;
    try {
      const now = Date.now();
      const workflows = this.host.workflows();
      const wakesIdle = store.listDue !== undefined;
      await this.adoptAll(
        await store.listAdoptable(now, 100, workflows, wakesIdle ? { busyOnly: true } : undefined),
      );
      if (wakesIdle && !this.host.leaveIdle && workflows.length > 0)
        await this.adoptAll((await store.listDue?.(now + this.settings.ttlMs, now, 100, workflows)) ?? []);
    } catch (error) {
      this.logger.warn({ err: error }, 'looking for runs to adopt failed; retrying at the next round');
    }
  }

  private async adoptAll(runs: readonly AdoptableRun[]): Promise<void> {
    for (const run of runs) {
      if (!this.host.canAdopt(run)) continue;
      await this.host.adopt(run).catch((error: unknown) => {
        this.logger.debug({ err: error, workflowId: run.id }, 'run not adopted');
      });
    }
  }
}
