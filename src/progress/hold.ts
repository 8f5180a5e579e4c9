/**
 * Holds: a run that waits on the outside world (a `waitFor`, a step escalated to a person, a hand-written state
 * waiting for an event) or for a retry's backoff, with nothing of its own under way, is not progressing, so its
 * percent does not move. This
 * walks the active states of a run's machines to tell whether it is on hold and what it waits on, and keeps the
 * time it spent on hold.
 */
import type { StateValue } from 'xstate';
import type { LiveMachine } from './live.js';
import type { PlanNode } from './plan.js';
import type { ProgressWaitingOn } from './progress.js';
import { activeChild } from './range.js';
import type { StepView } from './views.js';

/** Nothing left there (a final state), waiting on the outside world only, or work under way: in that order. */
const IDLE = 0;
const HELD = 1;
const BUSY = 2;
type Activity = typeof IDLE | typeof HELD | typeof BUSY;

/** What {@link holdOf} reads of a run: its machines, and its steps by path. */
interface HoldSource {
  readonly steps: ReadonlyMap<string, StepView>;
}

/** Something waited on, with when its wait began when known. */
export interface Waited extends ProgressWaitingOn {
  readonly since: number | undefined;
}

/**
 * Whether a run's machine is on hold: every part of it still active waits on the outside world. `into` receives
 * what it waits on, held or not (a region may wait while another works).
 *
 * @example
 * ```ts
 * const waits: Waited[] = [];
 * if (holdOf(watch.rootMachine(), watch, waits)) console.log('on hold', waits);
 * ```
 */
export function holdOf(machine: LiveMachine, source: HoldSource, into?: Waited[]): boolean {
  return new HoldWalk(source, into).machine(machine) === HELD;
}

class HoldWalk {
  constructor(
    private readonly source: HoldSource,
    private readonly into: Waited[] | undefined,
  ) {}

  machine(m: LiveMachine): Activity {
    return this.node(m, m.plan.root, m.value, '');
  }

  private node(m: LiveMachine, node: PlanNode, value: StateValue | undefined, at: string): Activity {
    const meta = node.meta;
    if (meta?.kind === 'wait') {
      const path = m.prefix + meta.name;
      const view = this.running(path);
      const deadline = m.context?.waits?.[meta.name] ?? plus(view?.startedAt, meta.timeoutMs);
      this.into?.push({
        kind: 'event',
        path,
        ...(meta.event !== undefined ? { event: meta.event } : {}),
        ...(deadline !== undefined ? { deadline } : {}),
        since: view?.startedAt,
      });
      return HELD;
    }
    if (meta?.kind === 'step') {
      const invoked = node.invokeIds[0];
      const child = meta.workflow !== undefined && invoked !== undefined ? m.child(invoked) : undefined;
      if (child) return this.machine(child);
      const path = m.prefix + meta.name;
      const view = this.running(path);
      if (view?.phase === 'escalated' || view?.phase === 'backoff') return this.paused(view);
      if (node.children.size === 0) return node.waitsForEvent ? this.waitsForEvent(node, path, view) : BUSY;
    }
    if (meta?.kind === 'map') return this.map(m, node, meta.name);
    if (node.type === 'parallel') {
      let activity: Activity = IDLE;
      for (const region of node.children.values()) {
        const below = (value as Record<string, StateValue> | undefined)?.[region.key];
        activity = Math.max(activity, this.node(m, region, below, join(at, region.key))) as Activity;
        // Busy is the answer whatever the other regions do: only a listing of the waits needs them.
        if (activity === BUSY && !this.into) return BUSY;
      }
      return activity;
    }
    if (node.type === 'final') return IDLE;
    if (node.children.size === 0)
      return node.waitsForEvent ? this.waitsForEvent(node, m.prefix + (meta?.name ?? at), undefined) : BUSY;
    const [child, sub] = activeChild(node, value);
    return child ? this.node(m, child, sub, join(at, child.key)) : IDLE;
  }

  /**
   * A map holds only when every item running waits for a decision or a retry (the items not started wait for
   * their slots).
   */
  private map(m: LiveMachine, node: PlanNode, name: string): Activity {
    const invoked = node.invokeIds[0];
    const progress = (invoked === undefined ? undefined : m.map?.(invoked)) ?? m.context?.maps?.[name];
    if (!progress || progress.running.length === 0) return BUSY;
    let activity: Activity = HELD;
    for (const i of progress.running) {
      const view = this.running(`${m.prefix}${name}[${i}]`);
      if (view?.phase === 'escalated' || view?.phase === 'backoff') this.paused(view);
      else if (!this.into) return BUSY;
      else activity = BUSY;
    }
    return activity;
  }

  /** A step escalated to a person (waiting for a decision), or backing off before its next attempt. */
  private paused(view: StepView): Activity {
    this.into?.push({
      kind: view.phase === 'backoff' ? 'retry' : 'human',
      path: view.path,
      ...(view.deadline !== undefined ? { deadline: view.deadline } : {}),
      // It began when the attempt that failed ended.
      since: view.snapshot?.history.at(-1)?.endedAt ?? view.attemptStartedAt,
    });
    return HELD;
  }

  private waitsForEvent(node: PlanNode, path: string, view: StepView | undefined): Activity {
    const [event, more] = node.outsideEvents;
    this.into?.push({
      kind: 'event',
      path,
      ...(event !== undefined && more === undefined ? { event } : {}),
      since: view?.startedAt,
    });
    return HELD;
  }

  private running(path: string): StepView | undefined {
    const view = this.source.steps.get(path);
    return view?.status === 'running' ? view : undefined;
  }
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

function plus(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

/**
 * The time a run spent on hold: what it held before, and since when it holds now.
 *
 * @example
 * ```ts
 * const hold = new HoldClock();
 * hold.update(true, 1_000);
 * hold.update(false, 61_000);
 * hold.heldMs(70_000); // 60_000
 * ```
 */
export class HoldClock {
  private held = 0;
  private since: number | undefined;

  /** Whether the run holds now (seen at `now`); a hold that began earlier than seen gives its start as `from`. */
  update(holds: boolean, now: number, from = now): void {
    if (holds && this.since === undefined) this.since = Math.min(now, from);
    else if (!holds && this.since !== undefined) {
      this.held += Math.max(0, now - this.since);
      this.since = undefined;
    }
  }

  /** Adds time held before the run was watched. */
  add(ms: number): void {
    this.held += Math.max(0, ms);
  }

  /** The time spent on hold up to `now`. */
  heldMs(now: number): number {
    return this.held + (this.since === undefined ? 0 : Math.max(0, now - this.since));
  }
}

/**
 * The time a run was on hold before its watch began, from the steps that ended before: the time its `waitFor` steps
 * waited while no other step ran. Steps restored from a store carry no times, so they add nothing.
 *
 * @example
 * ```ts
 * heldBefore(options.ended ?? []); // 1_800_000: a 30-minute approval, alone
 * ```
 */
export function heldBefore(views: Iterable<StepView>): number {
  const waits: Array<[number, number]> = [];
  const busy: Array<[number, number]> = [];
  for (const v of views) {
    if (v.endedAt === undefined || v.endedAt <= v.startedAt) continue;
    // A child workflow's own view spans its steps, waits included: its steps tell.
    if (v.kind === 'wait') waits.push([v.startedAt, v.endedAt]);
    else if (v.kind !== 'workflow') busy.push([v.startedAt, v.endedAt]);
  }
  if (waits.length === 0) return 0;
  return length(union(waits)) - overlap(union(waits), union(busy));
}

/** Sorted, disjoint intervals covering the same time. */
function union(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [from, to] of sorted) {
    const last = out.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

function length(intervals: ReadonlyArray<readonly [number, number]>): number {
  let sum = 0;
  for (const [from, to] of intervals) sum += to - from;
  return sum;
}

/** The time two sorted, disjoint interval lists share. */
function overlap(
  a: ReadonlyArray<readonly [number, number]>,
  b: ReadonlyArray<readonly [number, number]>,
): number {
  let sum = 0;
  let j = 0;
  for (const [from, to] of a) {
    while (j < b.length && (b[j] as readonly [number, number])[1] <= from) j++;
    for (let k = j; k < b.length && (b[k] as readonly [number, number])[0] < to; k++) {
      const [bFrom, bTo] = b[k] as readonly [number, number];
      sum += Math.max(0, Math.min(to, bTo) - Math.max(from, bFrom));
    }
  }
  return sum;
}
