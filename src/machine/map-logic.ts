import type { ActorLogic, ActorScope, AnyActorLogic, AnyActorRef } from 'xstate';
import { journalInputs, keptOf, settledOk } from './map-journaled.js';
import type { MapActorInput, MapEvent, MapItem, MapSnapshot, MapState, PersistedMap } from './map-types.js';
import { journalOf, type StepJournal } from './step-logic.js';
import type { StepActorInput, StepEvent, StepSnapshot } from './step-types.js';

/** The map actor logic, as XState sees it. */
export type MapLogic = ActorLogic<MapSnapshot, MapEvent, MapActorInput>;

// biome-ignore lint/suspicious/noExplicitAny: a scope of any actor system; the step logic reads `self` and `defer`
type Scope = ActorScope<any, any, any, any>;
type StepLogicLike = ActorLogic<StepSnapshot, StepEvent, StepActorInput>;

/** A running item: the step logic's snapshot and the scope it runs in (its `self` is the item). */
class Item implements MapItem {
  readonly hosted = true;
  readonly scope: Scope;
  snapshot!: StepSnapshot;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly sessionId: string,
    private readonly host: AnyActorRef,
    mapScope: Scope,
  ) {
    // The map's scope with the item as `self`: `defer` runs after the map's snapshot is committed. A prototype, not a
    // copy: one of these per item started.
    const scope = Object.create(mapScope) as { -readonly [K in keyof Scope]: Scope[K] };
    scope.self = this as unknown as AnyActorRef;
    scope.id = id;
    scope.sessionId = sessionId;
    this.scope = scope;
  }

  getSnapshot(): StepSnapshot {
    return this.snapshot;
  }

  send(event: StepEvent): void {
    this.host.send({ type: 'flowstate.map.item', index: this.index, event });
  }

  /** As XState writes an actor ref: its id only (the scope it holds points back at the whole system). */
  toJSON(): { readonly xstate$$type: 1; readonly id: string } {
    return { xstate$$type: 1, id: this.id };
  }
}

/** `name` for the map at path `prefix/name`: an item's id (`name[3]`) is local, as a spawned child's was. */
function localName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The running items by id, built when read (walks of the actor tree), not kept up to date per item. */
function childrenOf(state: MapState): Record<string, AnyActorRef> {
  const children: Record<string, AnyActorRef> = {};
  for (const item of state.running.values()) children[item.id] = item as unknown as AnyActorRef;
  return children;
}

/**
 * A map snapshot: a new small object per transition (`state` is shared and changed in place). A class, so the
 * `children` getter costs nothing to create.
 */
class Snapshot {
  constructor(
    readonly status: MapSnapshot['status'],
    readonly output: readonly unknown[] | undefined,
    readonly error: MapSnapshot['error'],
    readonly state: MapState,
    readonly touched: readonly MapItem[],
  ) {}

  get children(): Record<string, AnyActorRef> {
    return childrenOf(this.state);
  }

  toJSON(): Record<string, unknown> {
    const { status, output, error, state, touched, children } = this;
    return { status, output, error, state, touched, children };
  }
}

function snapshotOf(
  state: MapState,
  touched: MapItem[],
  status: MapSnapshot['status'],
  error?: MapSnapshot['error'],
): MapSnapshot {
  return new Snapshot(
    status,
    status === 'done' ? state.results : undefined,
    error,
    state,
    touched,
  ) as MapSnapshot;
}

/**
 * The map actor: runs a `map`'s items itself, at most `concurrency` at a time, each through the step actor logic
 * it is given (the very logic of a single step: retries, backoff, per-attempt timeouts, escalation, the journal
 * before the map moves on, the lease gate, queue dispatch, cancellation), hosted in place instead of spawned.
 * Its bookkeeping is changed in place, so an item costs the same whatever the concurrency and the number of items
 * (XState's spawn and stop copy the parent's children, so a child per item costs more as concurrency grows). It
 * ends `done` with the results in item order, or `error` with the first item failure that is not skipped (the
 * items still running are stopped, their signals aborted).
 *
 * Items are addressed by their step path `<map path>[<index>]` and journaled under it, as before. A restored map
 * asks the journal before each item it starts: an item that ended after the last checkpoint is not run again.
 *
 * With a journal that lists (a store), the persisted snapshot leaves out what the journal holds: the results of
 * the items ended (each journaled under its key before the map learns of it) and, once committed there, the items'
 * inputs; a checkpoint then costs the running items, not the items ended, and a map of N items writes O(N) in all
 * rather than O(N^2 / concurrency). A restored run reads them back first (runtime/map-journal.ts).
 */
export function createMapLogic(stepLogic: AnyActorLogic): MapLogic {
  const step = stepLogic as unknown as StepLogicLike;
  const journal = journalOf(stepLogic);
  /** Results and inputs go to the journal only when it can be listed back in one read. */
  const journals = journal?.list !== undefined;
  /** Maps restored from storage: the items they start may have been journaled before the crash. */
  const resumed = new WeakSet<MapState>();

  /** Done once every item ended, else active. */
  const current = (state: MapState, touched: MapItem[]) =>
    snapshotOf(state, touched, state.settled === state.input.inputs.length ? 'done' : 'active');

  /**
   * Starts items while there is room. Their step logic starts at once from the map's own `start` (`startNow`), else
   * once the transition's snapshot is committed.
   */
  const launch = (state: MapState, touched: MapItem[], scope: Scope, startNow: boolean) => {
    const { input, running } = state;
    const total = input.inputs.length;
    while (running.size < input.concurrency && state.next < total) {
      const index = state.next++;
      const item = new Item(
        index,
        `${state.name}[${index}]`,
        `${scope.sessionId}.${index}`,
        scope.self,
        scope,
      );
      // Own keys first, `step` last: the shape a single step's input has (compile.ts).
      const stepInput: StepActorInput = {
        workflowId: input.workflowId,
        path: `${input.path}[${index}]`,
        input: input.inputs[index],
        ...input.step,
      };
      const initial = step.getInitialSnapshot(item.scope as never, stepInput);
      item.snapshot = resumed.has(state) ? { ...initial, restored: true } : initial;
      running.set(index, item);
      touched.push(item);
      if (startNow) step.start?.(item.snapshot, item.scope as never);
      else scope.defer(() => step.start?.(item.snapshot, item.scope as never));
    }
  };

  return {
    config: 'flowstate.map',
    getInitialSnapshot: (_scope, input) => {
      const total = input.inputs.length;
      const state: MapState = {
        input,
        name: localName(input.path),
        next: 0,
        settled: 0,
        results: new Array<unknown>(total).fill(null),
        completed: [],
        skipped: [],
        running: new Map(),
        kept: journals ? new Map() : undefined,
        inputsJournaled: false,
      };
      if (input.invalid) return snapshotOf(state, [], 'error', input.invalid);
      return current(state, []);
    },
    start: (s, scope) => {
      if (s.status !== 'active') return;
      if (journals && !s.state.inputsJournaled) journalInputs(journal as StepJournal, s.state);
      // Restored items start where they were; then the map fills up to its concurrency.
      for (const item of s.state.running.values())
        step.start?.(item.getSnapshot(), (item as Item).scope as never);
      launch(s.state, s.touched as MapItem[], scope, true);
    },
    transition: (s, event, scope) => {
      if (s.status !== 'active') return s;
      const { state } = s;
      const touched: MapItem[] = [];
      if (event.type === 'xstate.stop') {
        for (const item of state.running.values()) stopItem(step, item as Item, touched);
        state.running.clear();
        return snapshotOf(state, touched, 'stopped');
      }
      if (event.type !== 'flowstate.map.item') return s;
      const item = state.running.get(event.index) as Item | undefined;
      if (!item) return s;
      const previous = item.snapshot;
      const next = step.transition(previous, event.event, item.scope as never);
      if (next === previous) return s;
      item.snapshot = next;
      touched.push(item);
      if (next.status === 'done') {
        state.results[item.index] = next.output;
        // Only an attempt's output is journaled (before it is reported); an escalation's value is kept here.
        if (state.kept && !(previous.phase === 'running' && settledOk(event.event)))
          state.kept.set(item.index, next.output);
        if (state.input.compensable) state.completed.push(item.index);
      } else if (next.status === 'error') {
        state.running.delete(item.index);
        if (!state.input.skipFailures) {
          // The map fails: the items still running are stopped (their agents' signals abort).
          for (const other of state.running.values()) stopItem(step, other as Item, touched);
          state.running.clear();
          return snapshotOf(state, touched, 'error', next.error);
        }
        state.skipped.push(item.index);
      } else return snapshotOf(state, touched, 'active');
      state.settled++;
      state.running.delete(item.index);
      launch(state, touched, scope, false);
      return current(state, touched);
    },
    getPersistedSnapshot: (s) => {
      const { state } = s;
      const children: Record<string, { snapshot: unknown }> = {};
      for (const item of state.running.values())
        children[item.id] = { snapshot: step.getPersistedSnapshot(item.getSnapshot()) };
      const { inputs: _inputs, ...bare } = state.input;
      const persisted: PersistedMap = {
        status: s.status,
        output: s.output,
        error: s.error,
        input: state.inputsJournaled ? bare : state.input,
        ...(state.inputsJournaled ? { inputsJournaled: true as const } : {}),
        next: state.next,
        settled: state.settled,
        ...(state.kept ? { kept: Object.fromEntries(state.kept) } : { results: state.results }),
        completed: state.completed,
        skipped: state.skipped,
        children,
      };
      return persisted as never;
    },
    restoreSnapshot: (persisted, scope) => {
      const p = persisted as unknown as PersistedMap;
      const { inputs } = p.input;
      const results = p.results ?? (p.status === 'done' && Array.isArray(p.output) ? p.output : undefined);
      if (!inputs || !results) {
        throw new Error(
          `Map '${p.input.path}' was stored with its results and inputs in the journal: restore its run through the engine, which reads them back`,
        );
      }
      const state: MapState = {
        input: { ...p.input, inputs },
        name: localName(p.input.path),
        next: p.next,
        settled: p.settled,
        results: [...results],
        completed: [...p.completed],
        skipped: [...p.skipped],
        running: new Map(),
        kept: journals ? keptOf(p) : undefined,
        inputsJournaled: p.inputsJournaled === true,
      };
      resumed.add(state);
      for (const [id, child] of Object.entries(p.children)) {
        const index = Number(/\[(\d+)\]$/.exec(id)?.[1]);
        const item = new Item(index, id, `${scope.sessionId}.${index}`, scope.self, scope);
        item.snapshot = (step.restoreSnapshot?.(child.snapshot as never, item.scope as never) ??
          child.snapshot) as StepSnapshot;
        state.running.set(index, item);
      }
      return snapshotOf(state, [...state.running.values()], p.status, p.error);
    },
  };
}

/** Stops a running item as XState stops an actor: its step logic releases the attempt (the signal aborts). */
function stopItem(step: StepLogicLike, item: Item, touched: MapItem[]): void {
  item.snapshot = step.transition(item.snapshot, { type: 'xstate.stop' }, item.scope as never);
  touched.push(item);
}
