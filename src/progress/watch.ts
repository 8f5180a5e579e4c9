/**
 * The watch of one run: subscribes to the root actor and, recursively, to every child actor as it appears (step
 * actors, child workflows, timers, a hand-written machine's promise actors), and turns their snapshots into step
 * views, step events, history records and change signals. Subscriptions rather than XState's `inspect` option,
 * which only a root actor's creator can set: so it works for any actor, started or not, engine or hand-written.
 *
 * The engine watches a run only once someone reads `progress$` or `events$` (or from its start, when the logger
 * writes step lines): its runs learn durations through their compiled machines, which costs far less than a watch
 * on every run. A watch set up without listeners is lean: it subscribes to machine actors only, and reads a step
 * actor when it appears and when it leaves its parent. The first listener upgrades it: every step actor is then
 * followed through its retries and escalations too. A watch set up while a run is under way starts from the steps
 * running then: steps that ended before it are not listed (percent and ETA come from the remaining graph, so they
 * are exact).
 */
import { type AnyActorRef, isMachineSnapshot } from 'xstate';
import { actorTree, isStepSnapshot } from '../machine/actor-tree.js';
import { isMapSnapshot, type MapSnapshot } from '../machine/map-types.js';
import { objectSlot } from '../model/object-slot.js';
import type { RunStatus } from '../persistence/types.js';
import type { StepLogEvent } from './events.js';
import { HoldClock, heldBefore, holdOf, type Waited } from './hold.js';
import type { MachineView } from './views.js';
import { MachineState } from './watch-machine.js';
import { type WatchOptions, WatchState } from './watch-state.js';
import { StepTracker } from './watch-steps.js';

export type { WatchOptions } from './watch-state.js';

/**
 * A signal that something changed: `urgent` for a failure, an escalation or the end, which no throttle holds.
 *
 * @example
 * ```ts
 * watch.listen((change: WatchChange) => change.ended && console.log('run ended'));
 * ```
 */
export interface WatchChange {
  readonly urgent: boolean;
  readonly ended: boolean;
}

/**
 * Each root actor's observer: its watch once someone watches it, or until then the engine's pending options (the
 * engine's runs are watched only on demand, but always with the engine's history, clock and logger). One slot for
 * both; step actors are found by their path in their run's watch instead.
 *
 * The slot is on the actor ({@link objectSlot}), not in a module-wide `WeakMap`: every run that ends gets one (a
 * watch asked for later lists its steps), and such a map's values outlive young-generation collections. Measured
 * (ninth session, 10-step runs, one at a time): a tenth of what survived each scavenge was these ended runs' pending
 * watches and step lists.
 */
const observers = objectSlot<RunWatch | PendingOptions>('flowstate.watch.observer');

/**
 * An engine's finder of its runs' pending watches, by the machine they run: each engine binds machines of its own,
 * so one finder per machine costs a live run nothing (an entry per actor would cost each run a slot).
 */
const finders = new WeakMap<object, (actor: AnyActorRef) => PendingOptions | undefined>();

/** The options an engine run's watch gets when someone first asks for it. */
interface PendingOptions {
  options(): WatchOptions;
}

/**
 * The watch of an actor: the one the engine (or an earlier tracker) set up, else a new one.
 *
 * @example
 * ```ts
 * const watch = watchActor(actor, { history });
 * watch.listen(() => console.log(watch.steps.size));
 * ```
 */
export function watchActor(actor: AnyActorRef, options: WatchOptions = {}): RunWatch {
  const known = observers.get(actor) ?? pendingOf(actor);
  if (known instanceof RunWatch) return known;
  // A run of an engine is watched with the engine's options, whoever asks first.
  const watch = new RunWatch(actor, known ? known.options() : options);
  observers.set(actor, watch);
  watch.attach(actor);
  return watch;
}

/**
 * Registers the options an actor's watch gets when someone first asks for it (`trackProgress(run.actor)` as well
 * as `run.progress$`).
 *
 * @example
 * ```ts
 * deferWatch(actor, { options: () => ({ history, clock, logger, workflowId: 'triage', runId: 'run-1' }) });
 * ```
 */
export function deferWatch(actor: AnyActorRef, pending: PendingOptions): void {
  if (!observers.get(actor)) observers.set(actor, pending);
}

/**
 * Registers how the root actors of a machine find their pending options (an engine's runs, by the machine the
 * engine bound): `find` answers for the actors it knows, `undefined` for others (an actor someone made from the same
 * machine). One finder per machine: the first registered stays.
 *
 * @example
 * ```ts
 * deferWatches(machine, (actor) => (actor === run.actor ? { options: () => ({ runId: run.id }) } : undefined));
 * ```
 */
export function deferWatches(
  logic: object | undefined,
  find: (actor: AnyActorRef) => PendingOptions | undefined,
): void {
  if (logic && !finders.has(logic)) finders.set(logic, find);
}

/** The pending options a finder has for an actor, by its machine. */
function pendingOf(actor: AnyActorRef): PendingOptions | undefined {
  const logic = (actor as { logic?: object }).logic;
  return logic ? finders.get(logic)?.(actor) : undefined;
}

/**
 * The run watch core: the subscriptions and the signals. What its parts share is {@link WatchState}; the machine
 * part lives in {@link MachineState}, the step part in {@link StepTracker}.
 *
 * @example
 * ```ts
 * const watch = watchActor(actor);
 * watch.onEvent((e) => console.log(e.path, e.type));
 * ```
 */
export class RunWatch extends WatchState {
  readonly throttleMs: number | undefined;
  readonly startedAt: number;
  ended = false;
  endedAt: number | undefined;
  status: RunStatus = 'running';
  private readonly machines = new MachineState(this);
  /** The step views' bookkeeping; the machine part reads and ends state-driven steps through it. */
  readonly stepTracker = new StepTracker(this);
  private listeners: Set<(change: WatchChange) => void> | undefined;
  private depth = 0;
  /** Map actors subscribed to: their items are read from the map's snapshots, not subscribed one by one. */
  private readonly maps = new WeakSet<AnyActorRef>();
  /** The time the run spent on hold (waiting on the outside world only), kept while someone listens. */
  private readonly hold = new HoldClock();
  private holdSeen = false;

  constructor(
    readonly root: AnyActorRef,
    options: WatchOptions,
  ) {
    super(root, options);
    this.throttleMs = options.throttleMs;
    this.startedAt = options.startedAt ?? this.clock.now();
    for (const view of options.ended ?? []) {
      this.steps.delete(view.path);
      this.steps.set(view.path, view);
    }
    if (options.ended) this.hold.add(heldBefore(options.ended));
  }

  /** The time the run spent on hold up to `now`: waiting on the outside world with nothing of its own under way. */
  heldMs(now: number): number {
    return this.hold.heldMs(now);
  }

  /** The root machine's view, for the ETA. */
  rootMachine(): MachineView | undefined {
    return this.machines.viewOf(this.root);
  }

  /** Calls `listener` after every batch of snapshot changes; returns the function that stops it. */
  listen(listener: (change: WatchChange) => void): () => void {
    this.listeners ??= new Set();
    this.listeners.add(listener);
    this.upgrade();
    return () => this.listeners?.delete(listener);
  }

  /** Calls `listener` for every step event from now on; returns the function that stops it. */
  onEvent(listener: (event: StepLogEvent) => void): () => void {
    const stop = this.stepTracker.onEvent(listener);
    this.upgrade();
    return stop;
  }

  /** Logs a failure of the tracker itself, which skips what it could not read and goes on. */
  warn(error: unknown): void {
    this.logger?.warn({ err: error, workflowId: this.runId }, 'progress skipped a snapshot');
  }

  /**
   * Reads an actor that appeared, and subscribes to it if it is a machine, or a step actor while the watch is
   * full. Any other actor (a timer, a promise) shows only through its parent machine, which reads it at exit.
   */
  attach(actor: AnyActorRef): void {
    const snapshot = actor.getSnapshot();
    if (isStepSnapshot(snapshot)) {
      const view = this.steps.get(snapshot.input.path);
      if (view?.actorId !== actor.sessionId) this.observe(actor);
      const seen = this.steps.get(snapshot.input.path);
      if (this.full && seen?.actorId === actor.sessionId && !seen.subscribed && seen.status === 'running') {
        seen.subscribed = true;
        // An item of a map has no subscribers of its own: the map's snapshots tell its changes.
        if ((actor as { hosted?: boolean }).hosted) return;
        this.subscribe(actor);
        // A lean watch saw it start only: catch up with where it is now.
        this.observe(actor);
      }
    } else if (isMachineSnapshot(snapshot) && !this.machines.viewOf(actor)) {
      this.subscribe(actor);
      this.observe(actor);
    } else if (isMapSnapshot(snapshot) && !this.maps.has(actor)) {
      this.maps.add(actor);
      this.subscribe(actor);
      for (const item of snapshot.state.running.values()) this.attach(item as unknown as AnyActorRef);
    }
  }

  /**
   * Reads the items a map's transition changed: each as a step actor (a lean watch reads an item only as it starts
   * and ends). A failed item of a map that skips failures is skipped at once, as the run will list it.
   */
  private observeMap(map: MapSnapshot): void {
    const skips = map.state.input.skipFailures;
    for (const item of map.touched) {
      const s = item.getSnapshot();
      const ref = item as unknown as AnyActorRef;
      if (this.full || s.status !== 'active' || this.steps.get(s.input.path)?.actorId !== item.sessionId)
        this.observe(ref);
      if (skips && s.status === 'error') {
        const view = this.steps.get(s.input.path);
        if (view?.actorId === item.sessionId && view.status !== 'skipped')
          this.stepTracker.endStep(view, 'skipped');
      }
    }
  }

  private subscribe(actor: AnyActorRef): void {
    const seen = () => this.observe(actor);
    // The error callback is required: without one XState reports the actor's failure as unhandled.
    actor.subscribe({ next: seen, error: seen, complete: seen });
  }

  /** Reads an actor that left its parent (a lean watch did not follow it: this is its end). */
  settle(actor: AnyActorRef): void {
    if (isStepSnapshot(actor.getSnapshot())) this.observe(actor);
  }

  /** From lean to full: follows every step actor alive now (catching up with where each is), and those to come. */
  upgrade(): void {
    if (this.full) return;
    this.full = true;
    for (const actor of actorTree(this.root)) if (isStepSnapshot(actor.getSnapshot())) this.attach(actor);
    this.checkHold();
  }

  /**
   * Whether the run is on hold now, read after each batch of changes while the watch is full (a lean watch has no
   * listener, and no phases of its steps). Seen first on hold (a watch set up during a wait), the hold counts from
   * the latest start of what it waits on, when known.
   */
  private checkHold(): void {
    if (!this.full) return;
    const now = this.clock.now();
    const root = this.ended ? undefined : this.rootMachine();
    if (!root) {
      this.hold.update(false, this.endedAt ?? now);
      return;
    }
    const waits: Waited[] | undefined = this.holdSeen ? undefined : [];
    const holds = holdOf(root, this, waits);
    let from = now;
    if (waits && waits.length > 0) {
      from = this.startedAt;
      for (const wait of waits) from = Math.max(from, wait.since ?? now);
    }
    this.hold.update(holds, now, from);
    this.holdSeen = true;
  }

  private observe(actor: AnyActorRef): void {
    if (this.ended) return;
    this.depth++;
    try {
      const snapshot = actor.getSnapshot() as { status?: string };
      if (isStepSnapshot(snapshot)) this.stepTracker.onStep(actor, snapshot);
      else if (isMachineSnapshot(snapshot))
        this.changed = this.machines.update(actor, snapshot) || this.changed;
      else if (isMapSnapshot(snapshot)) this.observeMap(snapshot);
      // Any other actor (a timer, a promise) shows in progress only once its parent machine reacts to it.
      if (actor === this.root && snapshot.status !== 'active') this.end(snapshot);
    } catch (error) {
      // A snapshot the tracker cannot read must not break the run (XState would report the throw as unhandled).
      this.warn(error);
    } finally {
      this.depth--;
    }
    // Nested observations (children found while reading a parent) make one signal, not several.
    if (this.depth === 0 && this.changed) {
      try {
        this.checkHold();
      } catch (error) {
        this.warn(error);
      }
      this.signal();
    }
  }

  private signal(): void {
    const change = { urgent: this.urgent || this.ended, ended: this.ended };
    this.changed = false;
    this.urgent = false;
    if (!this.listeners?.size) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  }

  private end(snapshot: { status?: string; output?: unknown }): void {
    this.ended = true;
    this.endedAt = this.clock.now();
    this.changed = true;
    this.urgent = true;
    const outcome = (snapshot.output as { status?: unknown } | undefined)?.status;
    if (snapshot.status === 'done')
      this.status = typeof outcome === 'string' && ENDED.has(outcome) ? (outcome as RunStatus) : 'done';
    else this.status = snapshot.status === 'error' ? 'failed' : 'cancelled';
    for (const view of this.steps.values())
      if (view.status === 'running') this.stepTracker.endStep(view, 'cancelled');
  }
}

const ENDED = new Set<string>(['done', 'failed', 'compensated', 'cancelled']);
