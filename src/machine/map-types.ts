import type { AnyActorRef } from 'xstate';
import type { SerializedError } from '../model/errors.js';
import type { StepActorInput, StepEvent, StepSnapshot } from './step-types.js';

/** The JSON-safe input of a map actor: every item's step input, computed once when the map starts. */
export interface MapActorInput {
  /** The run id (item idempotency keys start with it). */
  readonly workflowId: string;
  /** The map's step path: its items are `<path>[<index>]`. */
  readonly path: string;
  /** What each item's agent receives, in item order. */
  readonly inputs: readonly unknown[];
  /** The item step's options, the same for every item. */
  readonly step: Omit<StepActorInput, 'workflowId' | 'path' | 'input'>;
  /** Items running at once, at most. */
  readonly concurrency: number;
  /** A failed item is skipped (its result `null`) rather than failing the map. */
  readonly skipFailures: boolean;
  /** Items done are listed in `completed`, in the order they finished, for their compensation. */
  readonly compensable: boolean;
  /** Set when the items are not an array: the map fails at once with this error. */
  readonly invalid?: SerializedError;
}

/**
 * A map's bookkeeping, changed in place by its actor (never copied per item): where the items are and their
 * results so far. Item indexes in `completed` and `skipped` are in the order those items ended.
 */
export interface MapState {
  readonly input: MapActorInput;
  /** The map's own name (`m` of the path `child/m`): its items' ids are `m[0]`, `m[1]`... */
  readonly name: string;
  /** The index of the next item to start. */
  next: number;
  /** Items ended (done or skipped). */
  settled: number;
  /** Results in item order (`null` until an item is done, and for a skipped one). */
  readonly results: unknown[];
  readonly completed: number[];
  readonly skipped: number[];
  /** The items running now, by index. */
  readonly running: Map<number, MapItem>;
  /**
   * Set when the map journals (its step logic has a journal that lists): the results of done items that are not in
   * the journal (an escalation's `skip` value, or its timeout's `null`), by index: all the snapshot keeps of ended
   * items' results.
   */
  readonly kept: Map<number, unknown> | undefined;
  /** The items' inputs are committed to the journal: the snapshot leaves them out. */
  inputsJournaled: boolean;
}

/**
 * A running item as the step logic and the rest of the engine see it: a step actor (its snapshot, `send`), hosted
 * inside the map actor instead of spawned. It is listed in the map snapshot's `children`, so every walk of a run's
 * actors (decisions, waiting steps, progress) finds it as it finds a step actor.
 */
export interface MapItem {
  readonly id: string;
  readonly sessionId: string;
  readonly index: number;
  /** Marks an item hosted by a map actor: it has no mailbox or subscribers of its own. */
  readonly hosted: true;
  getSnapshot(): StepSnapshot;
  send(event: StepEvent): void;
}

/** The snapshot of a map actor. A new small object per transition; `state` is shared and changed in place. */
export type MapSnapshot = {
  readonly state: MapState;
  /** The running items by their local id (`name[i]`), built when read. */
  readonly children: Readonly<Record<string, AnyActorRef>>;
  /** The items whose snapshots changed in the transition that made this snapshot (started, moved, ended). */
  readonly touched: readonly MapItem[];
} & (
  | { readonly status: 'active' | 'stopped'; readonly output: undefined; readonly error: undefined }
  | { readonly status: 'done'; readonly output: readonly unknown[]; readonly error: undefined }
  | { readonly status: 'error'; readonly output: undefined; readonly error: SerializedError }
);

/**
 * A map actor's snapshot as stored: its bookkeeping and its running items' step snapshots. On a store, the ended
 * items' results and the items' inputs are in the journal (each item's output under its own key, the inputs under
 * {@link mapInputsKey}), so a checkpoint's size does not grow with the items ended; a restored run reads them back
 * (runtime/map-journal.ts) before XState restores the map.
 */
export interface PersistedMap {
  readonly status: MapSnapshot['status'];
  readonly output: unknown;
  readonly error: SerializedError | undefined;
  /** The map's input; without `inputs` when they are journaled (`inputsJournaled`). */
  readonly input: Omit<MapActorInput, 'inputs'> & { readonly inputs?: readonly unknown[] };
  readonly next: number;
  readonly settled: number;
  /**
   * Every result in item order: written without a journal, and by every Flowstate before results moved to the
   * journal. Absent when `kept` is set: the results are read back from the journal.
   */
  readonly results?: readonly unknown[];
  /** Set instead of `results`: the results of done items that are not journaled, by item index. */
  readonly kept?: Readonly<Record<string, unknown>>;
  /** The items' inputs are journaled (under {@link mapInputsKey}) rather than in `input.inputs`. */
  readonly inputsJournaled?: true;
  readonly completed: readonly number[];
  readonly skipped: readonly number[];
  /** Running items, as a machine stores its children (so the store's timer rows find their deadlines). */
  readonly children: Readonly<Record<string, { readonly snapshot: unknown }>>;
}

/** Events a map actor handles: an event for one of its items, or XState's stop. */
export type MapEvent =
  | { readonly type: 'flowstate.map.item'; readonly index: number; readonly event: StepEvent }
  | { readonly type: 'xstate.stop' };

/** Whether a snapshot is a map actor's. */
export function isMapSnapshot(snapshot: unknown): snapshot is MapSnapshot {
  return (
    typeof snapshot === 'object' &&
    snapshot !== null &&
    'state' in snapshot &&
    'touched' in snapshot &&
    (snapshot as { state?: { running?: unknown } }).state?.running instanceof Map
  );
}

/** Whether a persisted child snapshot is a map actor's. */
export function isPersistedMap(snapshot: unknown): snapshot is PersistedMap {
  if (typeof snapshot !== 'object' || snapshot === null) return false;
  const p = snapshot as Partial<PersistedMap>;
  return (
    typeof p.input?.path === 'string' &&
    typeof p.next === 'number' &&
    typeof p.settled === 'number' &&
    Array.isArray(p.completed) &&
    Array.isArray(p.skipped)
  );
}

/** The round suffix of a map's keys (`@2`), empty in a first round, as an attempt's idempotency key has it. */
function roundSuffix(input: Pick<MapActorInput, 'step'>): string {
  return input.step.round === undefined ? '' : `@${input.step.round}`;
}

/** The journal key of a map's items' inputs: `<run>:<map path>[@round]:items`. */
export function mapInputsKey(input: Pick<MapActorInput, 'workflowId' | 'path' | 'step'>): string {
  return `${input.workflowId}:${input.path}${roundSuffix(input)}:items`;
}

/**
 * The item index of a journal key of this map's items in this round (`<run>:<path>[i][@round]:<attempt>`), with
 * its attempt; `undefined` for any other key (another map, another round, the inputs).
 */
export function mapItemOfKey(
  input: Pick<MapActorInput, 'workflowId' | 'path' | 'step'>,
  key: string,
): { readonly index: number; readonly attempt: number } | undefined {
  const head = `${input.workflowId}:${input.path}[`;
  if (!key.startsWith(head)) return undefined;
  const close = key.indexOf(']', head.length);
  const tail = `${roundSuffix(input)}:`;
  if (close < 0 || !key.startsWith(tail, close + 1)) return undefined;
  const index = key.slice(head.length, close);
  const attempt = key.slice(close + 1 + tail.length);
  if (!/^\d+$/.test(index) || !/^\d+$/.test(attempt)) return undefined;
  return { index: Number(index), attempt: Number(attempt) };
}
