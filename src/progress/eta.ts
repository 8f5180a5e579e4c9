/**
 * The ETA: a pure walk of what is left of a machine's graph, from its live state. A sequence adds, a parallel state
 * takes its slowest region (the critical path), a map schedules its remaining items on its concurrency, a branch
 * not yet decided weighs its arms by how often each was taken, a loop adds the rounds it is expected to run still.
 * Every figure is a triple: the estimate and a low-high range, walked together. Each step ahead is told with its
 * share: how likely it is to run, by the same weights (1 outside undecided branches), so the pending count is the
 * steps the ETA expects, not every arm's.
 */
import type { StateValue } from 'xstate';
import type { EtaContext, LiveMachine, LiveStep } from './live.js';
import type { FlowMeta, PlanNode } from './plan.js';
import { activeChild, add, max, mul, type Range, residual, roundsAfter, schedule, ZERO } from './range.js';

/**
 * The time left until the machine ends, as `[estimate, low, high]` ms.
 *
 * @example
 * ```ts
 * const [remainingMs, low, high] = remainingOf(liveRoot, { now, defaultMs: 1000, estimate, choices, step });
 * ```
 */
export function remainingOf(machine: LiveMachine, ctx: EtaContext, options: WalkOptions = {}): Range {
  return new Walk(ctx, options.own === true).machine(machine);
}

/**
 * Options of {@link remainingOf}.
 *
 * @example
 * ```ts
 * const [ownMs] = remainingOf(liveRoot, ctx, { own: true });
 * ```
 */
export interface WalkOptions {
  /**
   * Count the run's own time only: what waits on the outside world (a `waitFor`, a hand-written step state that
   * waits for an event) counts for nothing, whatever its history, and a backoff only its next attempt. The percent
   * is made of this.
   */
  readonly own?: boolean;
}

/** What a walk knows of one plan under one path prefix: each node's duration to its parent's end, by node index. */
interface Memo {
  readonly from: (Range | undefined)[];
  readonly visiting: boolean[];
}

class Walk {
  /**
   * Per path prefix (`''` unless in a child workflow, whose prefix belongs to its one plan). Arrays by node index,
   * not maps keyed by node: this runs at every emission.
   */
  private readonly memos = new Map<string, Memo>();
  private lastPrefix: string | undefined;
  private lastMemo: Memo | undefined;
  /** How likely the part of the graph being walked is to run: the product of the undecided arms' weights above it. */
  private share = 1;

  constructor(
    private readonly ctx: EtaContext,
    private readonly own: boolean,
  ) {}

  machine(m: LiveMachine): Range {
    return this.active(m, m.plan.root, m.value);
  }

  /** What is left of an active node. */
  private active(m: LiveMachine, node: PlanNode, value: StateValue | undefined): Range {
    const meta = node.meta;
    switch (meta?.kind) {
      case 'step':
        return this.activeStep(m, node, meta);
      case 'wait':
        if (this.own) return ZERO;
        return this.running(
          this.ctx.step(m.prefix + meta.name),
          this.waitPrior(m.prefix, meta),
          m.enteredAt(node),
        );
      case 'map':
        return this.activeMap(m, node, meta);
      case 'loop':
        return this.activeLoop(m, node, meta, value);
      case 'branch': {
        const [arm] = activeChild(node, value);
        // Deciding is instantaneous in a compiled branch; a hand-written one may rest before choosing its arm.
        if (arm?.meta?.kind !== 'arm') return this.full(m.prefix, node);
      }
    }
    if (node.type === 'parallel') {
      let left = ZERO;
      for (const region of node.children.values())
        left = max(
          left,
          this.active(m, region, (value as Record<string, StateValue> | undefined)?.[region.key]),
        );
      return left;
    }
    const [child, sub] = activeChild(node, value);
    return child ? add(this.active(m, child, sub), this.after(m.prefix, child)) : ZERO;
  }

  private activeStep(m: LiveMachine, node: PlanNode, meta: FlowMeta): Range {
    if (meta.workflow !== undefined) {
      const child = node.invokeIds[0] === undefined ? undefined : m.child(node.invokeIds[0]);
      if (child) return this.machine(child);
    }
    const path = m.prefix + meta.name;
    if (node.waitsForEvent) {
      // A hand-written step state that waits for an event: its time is the outside world's.
      if (this.own) return ZERO;
      this.ctx.outsideTime?.();
    }
    return this.running(this.ctx.step(path), this.duration(path, meta.expectedMs), m.enteredAt(node));
  }

  /** What is left of a started step, given its expected duration in all. */
  private running(step: LiveStep | undefined, expected: Range, enteredAt: number | undefined): Range {
    const { now } = this.ctx;
    if (!step) return residual(expected, now - (enteredAt ?? now));
    const untilDeadline = Math.max(0, (step.deadline ?? now) - now);
    switch (step.phase) {
      case 'backoff':
        // The wait until the retry is not the run's own work.
        if (this.own) return expected;
        if (untilDeadline > 0) this.ctx.outsideTime?.();
        return [untilDeadline + expected[0], untilDeadline + expected[1], untilDeadline + expected[2]];
      case 'escalated':
      case 'supervising':
        // A decision may retry (a whole attempt again), skip (nothing left) or come at the deadline.
        return [expected[0], 0, untilDeadline + expected[2]];
      default:
        // A retry starts the work over: only the current attempt's time counts as spent.
        return residual(expected, now - (step.attempt > 1 ? step.attemptStartedAt : step.startedAt));
    }
  }

  private activeMap(m: LiveMachine, node: PlanNode, meta: FlowMeta): Range {
    const path = m.prefix + meta.name;
    const invokeId = node.invokeIds[0];
    const progress = (invokeId === undefined ? undefined : m.map?.(invokeId)) ?? m.context?.maps?.[meta.name];
    if (!progress)
      return residual(
        this.duration(path, meta.expectedMs),
        this.ctx.now - (m.enteredAt(node) ?? this.ctx.now),
      );
    const item = this.duration(`${path}[*]`, meta.expectedMs);
    const workers = progress.running.map((i) =>
      this.running(this.ctx.step(`${path}[${i}]`), item, m.enteredAt(node)),
    );
    const pending = Math.max(0, progress.total - progress.next);
    this.ctx.pendingItems?.(pending);
    const c = Math.max(1, meta.concurrency ?? 1);
    return [0, 1, 2].map((k) =>
      schedule(
        workers.map((w) => w[k] as number),
        pending,
        item[k as 0 | 1 | 2],
        c,
      ),
    ) as unknown as Range;
  }

  private activeLoop(m: LiveMachine, node: PlanNode, meta: FlowMeta, value: StateValue | undefined): Range {
    const [child, sub] = activeChild(node, value);
    // No `after` here: what follows the body inside the loop is the cycle, counted as rounds below.
    const inRound = child ? this.active(m, child, sub) : ZERO;
    const round = m.context?.iterations?.[meta.name] ?? 1;
    const rounds = roundsAfter(this.ctx.choices(m.prefix + meta.name), round, meta.maxIterations ?? round);
    return add(inRound, mul(this.body(m.prefix, node), rounds));
  }

  /** The longest way from a node (not started) to the end of its parent. */
  private from(prefix: string, node: PlanNode): Range {
    const memo = this.memoOf(prefix);
    const known = memo.from[node.index];
    if (known) return known;
    // A cycle (a hand-written retry loop) is cut: the walk does not go around it again.
    if (memo.visiting[node.index]) return ZERO;
    memo.visiting[node.index] = true;
    const total = add(this.full(prefix, node), this.after(prefix, node));
    memo.visiting[node.index] = false;
    memo.from[node.index] = total;
    return total;
  }

  private memoOf(prefix: string): Memo {
    if (prefix === this.lastPrefix && this.lastMemo) return this.lastMemo;
    let memo = this.memos.get(prefix);
    if (!memo) {
      memo = { from: [], visiting: [] };
      this.memos.set(prefix, memo);
    }
    this.lastPrefix = prefix;
    this.lastMemo = memo;
    return memo;
  }

  /** The longest way on from a node once it is done. */
  private after(prefix: string, node: PlanNode): Range {
    let left = ZERO;
    for (const next of node.successors) left = max(left, this.from(prefix, next));
    return left;
  }

  /** The whole duration of a node not started yet. */
  private full(prefix: string, node: PlanNode): Range {
    const meta = node.meta;
    switch (meta?.kind) {
      case 'step': {
        const path = prefix + meta.name;
        const known = this.ctx.estimate(path);
        const expected =
          !known && node.childPlan && meta.expectedMs === undefined
            ? this.from(`${path}/`, node.childPlan.root)
            : this.duration(path, meta.expectedMs);
        this.ctx.pending?.(path, node, expected, this.share);
        if (!node.waitsForEvent) return expected;
        if (this.own) return ZERO;
        this.ctx.outsideTime?.();
        return expected;
      }
      case 'wait': {
        const expected = this.waitPrior(prefix, meta);
        this.ctx.pending?.(prefix + meta.name, node, expected, this.share);
        return this.own ? ZERO : expected;
      }
      case 'map':
        return this.duration(prefix + meta.name, meta.expectedMs);
      case 'loop': {
        const rounds = roundsAfter(this.ctx.choices(prefix + meta.name), 1, meta.maxIterations ?? 1);
        return mul(this.body(prefix, node), add(rounds, [1, 1, 1]));
      }
      case 'branch':
        return this.branch(prefix, node, meta);
    }
    if (node.type === 'parallel') {
      let longest = ZERO;
      for (const region of node.children.values()) longest = max(longest, this.full(prefix, region));
      return longest;
    }
    return node.initial ? this.from(prefix, node.initial) : ZERO;
  }

  private body(prefix: string, loop: PlanNode): Range {
    return loop.initial ? this.from(prefix, loop.initial) : ZERO;
  }

  /**
   * An undecided branch: the arms' durations weighted by how often each was taken (evenly without history). Every
   * arm is walked, so its steps are listed as pending, each with its arm's share of this branch's own share.
   */
  private branch(prefix: string, node: PlanNode, meta: FlowMeta): Range {
    const history = this.ctx.choices(prefix + meta.name);
    const arms: Array<[PlanNode, number]> = [];
    let total = 0;
    for (const arm of node.children.values()) {
      if (arm.meta?.kind !== 'arm') continue;
      const weight = Math.max(0, history ? (history[String(arm.meta.arm)] ?? 0) : 1);
      arms.push([arm, weight]);
      total += weight;
    }
    const outer = this.share;
    let mid = 0;
    let low = Number.POSITIVE_INFINITY;
    let high = 0;
    for (const [arm, weight] of arms) {
      this.share = total > 0 ? (outer * weight) / total : 0;
      const cost = this.from(prefix, arm);
      if (weight === 0) continue;
      mid += weight * cost[0];
      low = Math.min(low, cost[1]);
      high = Math.max(high, cost[2]);
    }
    this.share = outer;
    return total > 0 ? [mid / total, low, high] : ZERO;
  }

  /** A step's expected duration: its history, else `expectedMs` (with a wide range), else the default. */
  private duration(path: string, expectedMs: number | undefined): Range {
    const known = this.ctx.estimate(path);
    if (known) return [known.ms, known.low, known.high];
    const prior = expectedMs ?? this.ctx.defaultMs;
    return [prior, prior / 2, prior * 2];
  }

  /** A wait's expected duration: its history, else nothing up to its timeout (a person may answer at once). */
  private waitPrior(prefix: string, meta: FlowMeta): Range {
    const known = this.ctx.estimate(prefix + meta.name);
    if (known && known.ms > 0) this.ctx.outsideTime?.();
    return known ? [known.ms, known.low, known.high] : [0, 0, meta.timeoutMs ?? 0];
  }
}
