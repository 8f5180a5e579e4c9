import type { ActorLogic, ActorScope, AnyActorLogic, AnyActorRef } from 'xstate';
import type { MapActorInput, MapEvent, MapItem, MapSnapshot, MapState, PersistedMap } from './map-types.js';
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
    this.scope = { ...mapScope, self: this as unknown as AnyActorRef, id, sessionId };
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

/** `name[3]` for item 3 of the map at path `prefix/name`: an item's id is local, as a spawned child's was. */
function itemId(path: string, index: number): string {
  return `${path.slice(path.lastIndexOf('/') + 1)}[${index}]`;
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
 */
export function createMapLogic(stepLogic: AnyActorLogic): MapLogic {
  const step = stepLogic as unknown as StepLogicLike;
  /** Maps restored from storage: the items they start may have been journaled before the crash. */
  const resumed = new WeakSet<MapState>();

  const snapshotOf = (
    state: MapState,
    children: Record<string, AnyActorRef>,
    touched: MapItem[],
  ): MapSnapshot => {
    const { input } = state;
    if (state.settled === input.inputs.length)
      return { status: 'done', output: state.results, error: undefined, state, children, touched };
    return { status: 'active', output: undefined, error: undefined, state, children, touched };
  };

  /** Starts items while there is room; their step logic starts once the snapshot is committed. */
  const launch = (
    state: MapState,
    children: Record<string, AnyActorRef>,
    touched: MapItem[],
    scope: Scope,
    now: boolean,
  ) => {
    const { input, running } = state;
    const total = input.inputs.length;
    while (running.size < input.concurrency && state.next < total) {
      const index = state.next++;
      const item = new Item(
        index,
        itemId(input.path, index),
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
      children[item.id] = item as unknown as AnyActorRef;
      touched.push(item);
      if (now) step.start?.(item.snapshot, item.scope as never);
      else scope.defer(() => step.start?.(item.snapshot, item.scope as never));
    }
  };

  const end = (state: MapState, children: Record<string, AnyActorRef>, item: Item) => {
    state.running.delete(item.index);
    delete children[item.id];
  };

  return {
    config: 'flowstate.map',
    getInitialSnapshot: (_scope, input) => {
      const total = input.inputs.length;
      const state: MapState = {
        input,
        next: 0,
        settled: 0,
        results: new Array<unknown>(total).fill(null),
        completed: [],
        skipped: [],
        running: new Map(),
      };
      if (input.invalid)
        return { status: 'error', output: undefined, error: input.invalid, state, children: {}, touched: [] };
      return snapshotOf(state, {}, []);
    },
    start: (s, scope) => {
      if (s.status !== 'active') return;
      const touched = s.touched as MapItem[];
      const children = s.children as Record<string, AnyActorRef>;
      // Restored items start where they were; then the map fills up to its concurrency.
      for (const item of s.state.running.values())
        step.start?.(item.getSnapshot(), (item as Item).scope as never);
      launch(s.state, children, touched, scope, true);
    },
    transition: (s, event, scope) => {
      if (s.status !== 'active') return s;
      const { state } = s;
      const children = s.children as Record<string, AnyActorRef>;
      const touched: MapItem[] = [];
      if (event.type === 'xstate.stop') {
        for (const item of state.running.values()) stopItem(step, item as Item, touched);
        state.running.clear();
        return { status: 'stopped', output: undefined, error: undefined, state, children: {}, touched };
      }
      if (event.type !== 'flowstate.map.item') return s;
      const item = state.running.get(event.index) as Item | undefined;
      if (!item) return s;
      const next = step.transition(item.snapshot, event.event, item.scope as never);
      if (next === item.snapshot) return s;
      item.snapshot = next;
      touched.push(item);
      if (next.status === 'done') {
        state.results[item.index] = next.output;
        if (state.input.compensable) state.completed.push(item.index);
      } else if (next.status === 'error') {
        if (!state.input.skipFailures) {
          end(state, children, item);
          // The map fails: the items still running are stopped (their agents' signals abort).
          for (const other of state.running.values()) stopItem(step, other as Item, touched);
          state.running.clear();
          return { status: 'error', output: undefined, error: next.error, state, children: {}, touched };
        }
        state.skipped.push(item.index);
      } else return snapshotOf(state, children, touched);
      state.settled++;
      end(state, children, item);
      launch(state, children, touched, scope, false);
      return snapshotOf(state, children, touched);
    },
    getPersistedSnapshot: (s) => {
      const { state } = s;
      const children: Record<string, { snapshot: unknown }> = {};
      for (const item of state.running.values())
        children[item.id] = { snapshot: step.getPersistedSnapshot(item.getSnapshot()) };
      const persisted: PersistedMap = {
        status: s.status,
        output: s.output,
        error: s.error,
        input: state.input,
        next: state.next,
        settled: state.settled,
        results: state.results,
        completed: state.completed,
        skipped: state.skipped,
        children,
      };
      return persisted as never;
    },
    restoreSnapshot: (persisted, scope) => {
      const p = persisted as unknown as PersistedMap;
      const state: MapState = {
        input: p.input,
        next: p.next,
        settled: p.settled,
        results: [...p.results],
        completed: [...p.completed],
        skipped: [...p.skipped],
        running: new Map(),
      };
      resumed.add(state);
      const children: Record<string, AnyActorRef> = {};
      for (const [id, child] of Object.entries(p.children)) {
        const index = Number(/\[(\d+)\]$/.exec(id)?.[1]);
        const item = new Item(index, id, `${scope.sessionId}.${index}`, scope.self, scope);
        item.snapshot = (step.restoreSnapshot?.(child.snapshot as never, item.scope as never) ??
          child.snapshot) as StepSnapshot;
        state.running.set(index, item);
        children[id] = item as unknown as AnyActorRef;
      }
      const base = { state, children, touched: [...state.running.values()] };
      if (p.status === 'active') return { ...base, status: 'active', output: undefined, error: undefined };
      if (p.status === 'done')
        return { ...base, status: 'done', output: p.output as unknown[], error: undefined };
      if (p.status === 'error')
        return { ...base, status: 'error', output: undefined, error: p.error as NonNullable<typeof p.error> };
      return { ...base, status: 'stopped', output: undefined, error: undefined };
    },
  };
}

/** Stops a running item as XState stops an actor: its step logic releases the attempt (the signal aborts). */
function stopItem(step: StepLogicLike, item: Item, touched: MapItem[]): void {
  item.snapshot = step.transition(item.snapshot, { type: 'xstate.stop' }, item.scope as never);
  touched.push(item);
}
