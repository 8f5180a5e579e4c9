/**
 * The delayed events of a run's machines (a hand-written machine's `after` transitions and delayed `sendTo`s /
 * `raise`s), kept across a checkpoint and a restore. XState keeps them in memory only (#5331): a restored machine
 * waiting in a state with `after: { 4000: 'expired' }` would never time out, and would take a late event instead.
 * So each checkpoint stores them beside the snapshot with their deadlines (the engine's clock), and a restored run
 * schedules them again, under their own ids, for what is left (a deadline passed while no engine held the run fires
 * at once). A compiled wait's timeout is left out: its deadline is in the run's context (see `rearmWaits`).
 */
import type { AnyActorRef, AnyEventObject } from 'xstate';
import type { Clock } from '../machine/clock.js';
import { isWaitTimeout } from '../machine/compile-wait.js';

/** The field of a stored snapshot that holds the run's delayed events (XState ignores it when restoring). */
export const SCHEDULED_FIELD = 'flowstateScheduled';

/** A delayed event as stored: who sends it to whom (child actor ids from the run's root), when, under which id. */
export interface StoredDelayedEvent {
  readonly id: string;
  /** The sending actor: `[]` for the run's root machine, `['child', 'grandchild']` below it. */
  readonly source: readonly string[];
  readonly target: readonly string[];
  readonly event: AnyEventObject;
  /** When it is due, in the engine's clock (epoch ms). */
  readonly dueAt: number;
}

/** XState's record of a scheduled event (`actor.system.getSnapshot()._scheduledEvents`). */
interface ScheduledEvent {
  readonly id: string;
  readonly source: AnyActorRef;
  readonly target: AnyActorRef;
  readonly event: AnyEventObject;
  readonly delay: number;
  /** `Date.now()` when it was scheduled (XState reads the global clock for it). */
  readonly startedAt: number;
}

type SchedulingSystem = { getSnapshot?: () => { _scheduledEvents?: Record<string, ScheduledEvent> } };

/**
 * The delayed events pending in the system of a run's root actor, to store beside its snapshot; `undefined` when it
 * has none (the common case: nothing is added to the snapshot). An event between actors outside the run's tree is
 * left out, as it could not be sent again to the same actors.
 *
 * @example
 * ```ts
 * const delayed = delayedEventsOf(actor, clock); // [{ id: 'xstate.after.4000.m.review', source: [], ... }]
 * ```
 */
export function delayedEventsOf(root: AnyActorRef, clock: Clock): StoredDelayedEvent[] | undefined {
  const scheduled = (root.system as SchedulingSystem).getSnapshot?.()._scheduledEvents;
  let stored: StoredDelayedEvent[] | undefined;
  for (const key in scheduled) {
    const e = scheduled[key] as ScheduledEvent;
    // An event that JSON would not give back as it is (an actor ref to reply to, a Date, a BigInt) is left out: it
    // would fail the checkpoint or come back as something else; such an event is lost on a crash, as before.
    if (isWaitTimeout(e.id) || !isPlainJson(e.event, 0)) continue;
    const source = pathFrom(root, e.source);
    const target = pathFrom(root, e.target);
    if (!source || !target) continue;
    // What is left of its delay by the global clock XState started it on, as a deadline on the engine's clock.
    const left = Math.max(0, e.delay - (Date.now() - e.startedAt));
    stored ??= [];
    stored.push({ id: e.id, source, target, event: e.event, dueAt: clock.now() + left });
  }
  return stored;
}

/**
 * Schedules again the delayed events stored beside a restored run's snapshot, each for what is left until its
 * deadline (at once if it passed), on its own actors and under its own id, so that leaving the state that set it
 * still cancels it. Call it once the restored actor has started. An event whose actors the restored run no longer
 * has, or that is not well-formed, is skipped.
 */
export function rearmDelayedEvents(root: AnyActorRef, snapshot: unknown, clock: Clock): void {
  const stored = (snapshot as Record<string, unknown> | undefined)?.[SCHEDULED_FIELD];
  if (!Array.isArray(stored)) return;
  const scheduler = root.system.scheduler;
  for (const item of stored as unknown[]) {
    if (!isStoredDelayedEvent(item)) continue;
    const source = actorAt(root, item.source);
    const target = actorAt(root, item.target);
    if (!source || !target) continue;
    scheduler.schedule(source, target, item.event, Math.max(0, item.dueAt - clock.now()), item.id);
  }
}

/** The ids from `root` down to `actor`, or `undefined` if `actor` is not in `root`'s tree. */
function pathFrom(root: AnyActorRef, actor: AnyActorRef): string[] | undefined {
  const path: string[] = [];
  for (let at: AnyActorRef | undefined = actor; at; at = at._parent) {
    if (at === root) return path.reverse();
    path.push(at.id);
  }
  return undefined;
}

/** The actor at a path of child ids below `root`. */
function actorAt(root: AnyActorRef, path: readonly string[]): AnyActorRef | undefined {
  let at: AnyActorRef | undefined = root;
  for (const id of path) {
    const snapshot: { children?: Record<string, AnyActorRef | undefined> } | undefined = at?.getSnapshot();
    at = snapshot?.children?.[id];
  }
  return at;
}

function isStoredDelayedEvent(value: unknown): value is StoredDelayedEvent {
  const v = value as Partial<StoredDelayedEvent> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'string' &&
    Array.isArray(v.source) &&
    v.source.every((s) => typeof s === 'string') &&
    Array.isArray(v.target) &&
    v.target.every((s) => typeof s === 'string') &&
    typeof v.event === 'object' &&
    v.event !== null &&
    typeof (v.event as { type?: unknown }).type === 'string' &&
    typeof v.dueAt === 'number' &&
    Number.isFinite(v.dueAt)
  );
}

/** Whether JSON gives `value` back as it is: strings, finite numbers, booleans, null, arrays and plain objects. */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || depth > 32) return false;
  if (Array.isArray(value)) return value.every((v) => isPlainJson(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  // An undefined field is dropped by JSON and reads as undefined again.
  return Object.values(value).every((v) => v === undefined || isPlainJson(v, depth + 1));
}
