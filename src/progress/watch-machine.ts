/**
 * The machine part of a run watch: which states carrying `meta.flowstate` are active, and what entering and leaving
 * them means. A hand-written machine's steps are its meta states; a compiled workflow's agent steps are reported by
 * their step actors instead, and its states add waits, child workflows, maps, branch arms and loop rounds.
 */
import type { AnyActorRef, AnyMachineSnapshot } from 'xstate';
import { isStepSnapshot } from '../machine/actor-tree.js';
import { activeMetaNodes, type PlanNode, planOf } from './plan.js';
import { type MachineView, MachineViews } from './views.js';
import type { WatchState } from './watch-state.js';
import type { StepTracker } from './watch-steps.js';

type Children = Readonly<Record<string, AnyActorRef | undefined>>;

/**
 * What the machine part needs of its run watch (watch.ts): the shared state, the step part, and the subscriptions,
 * to follow a child actor that appeared and to read one that left. Declared here so that only watch.ts imports.
 */
export interface MachineWatch extends WatchState {
  readonly stepTracker: StepTracker;
  attach(actor: AnyActorRef): void;
  settle(actor: AnyActorRef): void;
}

/**
 * The machine views of one run.
 *
 * @example
 * ```ts
 * const changed = new MachineState(watch).update(actor, snapshot);
 * ```
 */
export class MachineState {
  private readonly views = new MachineViews();

  constructor(private readonly watch: MachineWatch) {}

  viewOf(actor: AnyActorRef): MachineView | undefined {
    return this.views.of(actor);
  }

  /** Reads a machine actor's snapshot; returns whether it was new. */
  update(actor: AnyActorRef, s: AnyMachineSnapshot): boolean {
    const view = this.views.for(actor, planOf(s.machine));
    if (view.snapshot === s) return false;
    const before = view.children;
    view.snapshot = s;
    view.value = s.value;
    view.context = typeof s.context === 'object' && s.context !== null ? s.context : undefined;
    const prefix = view.context?.pathPrefix;
    if (typeof prefix === 'string') view.prefix = prefix;
    view.children = (s.children ?? {}) as Children;
    // XState keeps the children object while no child comes or goes: most snapshots need no look at them.
    const childrenChanged = view.children !== before;
    // Children that left first (a lean watch reads their end only now), so a step's end comes before the next start.
    if (childrenChanged)
      for (const id in before) {
        const child = before[id];
        if (child && view.children[id] !== child) this.watch.settle(child);
      }
    const active = activeMetaNodes(view.plan.root, s.value, []);
    const was = view.active;
    const wasEntered = view.entered;
    const entered = active.map((node) => wasEntered[was.indexOf(node)] ?? this.watch.clock.now());
    view.active = active;
    view.entered = entered;
    for (let i = 0; i < was.length; i++) {
      const node = was[i] as PlanNode;
      if (!active.includes(node)) this.exit(view, node, before, s, wasEntered[i]);
    }
    for (const node of active) if (!was.includes(node)) this.enter(view, node);
    this.skips(view);
    if (childrenChanged)
      for (const id in view.children) {
        const child = view.children[id];
        if (child && before[id] !== child) this.watch.attach(child);
      }
    return true;
  }

  private enter(view: MachineView, node: PlanNode): void {
    const meta = node.meta;
    if (!meta) return;
    const path = view.prefix + meta.name;
    switch (meta.kind) {
      case 'step': {
        this.watch.prior(path, meta.expectedMs);
        const id = node.invokeIds[0];
        const child = id === undefined ? undefined : view.children[id];
        // A compiled agent step has a step actor, which reports itself with attempts and phases.
        if (child && isStepSnapshot(child.getSnapshot())) return;
        this.watch.stepTracker.startStateStep(
          path,
          meta.workflow !== undefined ? 'workflow' : 'step',
          meta.agent,
        );
        return;
      }
      case 'wait': {
        // It began at its deadline minus its timeout (a watch set up during the wait, a restored run).
        const deadline = view.context?.waits?.[meta.name];
        const began =
          deadline !== undefined && meta.timeoutMs !== undefined ? deadline - meta.timeoutMs : undefined;
        this.watch.stepTracker.startStateStep(path, 'wait', undefined, began);
        return;
      }
      case 'map':
        this.watch.prior(`${path}[*]`, meta.expectedMs);
        return;
      case 'arm':
        if (meta.branch !== undefined) this.watch.recordChoice(view.prefix + meta.branch, String(meta.arm));
        return;
    }
  }

  private exit(
    view: MachineView,
    node: PlanNode,
    before: Children,
    s: AnyMachineSnapshot,
    enteredAt: number | undefined,
  ): void {
    const meta = node.meta;
    if (!meta) return;
    const path = view.prefix + meta.name;
    const results = view.context?.results;
    const finished = typeof results === 'object' && results !== null && Object.hasOwn(results, meta.name);
    // The machine goes on, or ended in a final state whose output (if it tells) is not a failure.
    const outcome = (s.output as { status?: unknown } | undefined)?.status;
    const carryingOn =
      s.status === 'active' || (s.status === 'done' && (typeof outcome !== 'string' || outcome === 'done'));
    const at = this.watch.clock.now();
    switch (meta.kind) {
      case 'step':
      case 'wait': {
        const step = this.watch.steps.get(path);
        if (!step || step.fromActor || step.status !== 'running') return;
        const id = node.invokeIds[0];
        const child = (id === undefined ? undefined : before[id])?.getSnapshot() as ChildSnapshot | undefined;
        const [status, reason] =
          meta.kind === 'wait'
            ? waitEnd(child, finished, meta.timeoutMs, timedOut(view.context, meta.name, path))
            : stepEnd(child, carryingOn);
        if (meta.kind === 'wait' && reason !== undefined)
          this.watch.stepTracker.emit({ path, at, attempt: 1, type: 'timed-out', of: 'wait', reason });
        this.watch.stepTracker.endStep(step, status, reason);
        return;
      }
      case 'map':
        if (finished && enteredAt !== undefined) this.watch.record(path, at - enteredAt);
        return;
      case 'loop': {
        const rounds = (view.context?.iterations as Record<string, unknown> | undefined)?.[meta.name];
        if (carryingOn && typeof rounds === 'number') this.watch.recordChoice(path, String(rounds));
        return;
      }
    }
  }

  /** Steps the workflow skipped after they failed (`onError: 'skip'`), as its context lists them. */
  private skips(view: MachineView): void {
    const skipped = view.context?.skipped;
    if (!Array.isArray(skipped)) return;
    for (let i = view.skippedSeen; i < skipped.length; i++) {
      const step = this.watch.steps.get(view.prefix + String(skipped[i]));
      if (step && step.status !== 'skipped') this.watch.stepTracker.endStep(step, 'skipped');
    }
    view.skippedSeen = skipped.length;
  }
}

/**
 * Whether a wait that just ended timed out, from its machine's context after: skipped (`onTimeout: 'skip'`), or its
 * `WAIT_TIMEOUT` failure is the run's error or a region's pending one.
 */
function timedOut(context: Record<string, unknown> | undefined, name: string, path: string): boolean {
  const skipped = context?.skipped;
  const results = context?.results as Record<string, unknown> | undefined;
  if (Array.isArray(skipped) && skipped.includes(name) && results?.[name] === null) return true;
  const isTimeout = (e: unknown) =>
    typeof e === 'object' &&
    e !== null &&
    (e as { code?: unknown }).code === 'WAIT_TIMEOUT' &&
    (e as { stepPath?: unknown }).stepPath === path;
  if (isTimeout(context?.error)) return true;
  const pending = context?.pending;
  return typeof pending === 'object' && pending !== null && Object.values(pending).some(isTimeout);
}

interface ChildSnapshot {
  readonly status?: string;
  readonly output?: unknown;
  readonly error?: unknown;
}

type End = readonly [status: 'done' | 'failed' | 'cancelled', reason?: string];

/**
 * How a wait ended: it timed out (the context says so, or the deadline timer actor of a run stored before waits kept
 * their deadlines in the context is done), so the event came too late (or never); else it got its event, or was left.
 */
function waitEnd(
  timer: ChildSnapshot | undefined,
  finished: boolean,
  timeoutMs: number | undefined,
  expired: boolean,
): End {
  if (timer?.status !== 'done' && !expired) return [finished ? 'done' : 'cancelled'];
  return ['failed', `No event within ${timeoutMs ?? '?'} ms`];
}

/**
 * How a state-driven step ended, from its invoked child. A child still running at exit was left by a transition:
 * normal for a hand-written machine that goes on, a cancellation when the machine ended otherwise.
 */
function stepEnd(child: ChildSnapshot | undefined, carryingOn: boolean): End {
  const failure = failureOf(child);
  if (failure !== undefined) return ['failed', failure];
  return [child?.status === 'done' || carryingOn ? 'done' : 'cancelled'];
}

/** Why an invoked child failed: it errored, or it is a child workflow whose outcome is not `done`. */
function failureOf(child: ChildSnapshot | undefined): string | undefined {
  if (child?.status === 'error') return messageOf(child.error);
  if (child?.status !== 'done') return undefined;
  const outcome = child.output as { status?: unknown; error?: unknown } | undefined;
  if (typeof outcome?.status === 'string' && outcome.status !== 'done' && 'error' in outcome)
    return messageOf(outcome.error);
  return undefined;
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}
