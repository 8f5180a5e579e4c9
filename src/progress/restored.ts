/**
 * The steps a restored run had ended before it was stored, read from its snapshot: a run taken over after a crash,
 * resumed or woken from passivation lists them (as a run watched from its start does), not only what ran since.
 */
import { type AnyActorRef, type AnyStateMachine, isMachineSnapshot } from 'xstate';
import { actorTree } from '../machine/actor-tree.js';
import type { Plan, PlanNode } from './plan.js';
import { planOf } from './plan.js';
import { type StepView, startedView } from './views.js';

/** Items of a restored map listed, at most (as the engine keeps for a run nobody watches: `learner.ts`). */
const LISTED_ITEMS = 1_000;

/** What a machine's context says of its ended steps (a compiled workflow's; a hand-written machine has none). */
interface EndedContext {
  readonly pathPrefix?: unknown;
  readonly results?: unknown;
  readonly skipped?: unknown;
}

/**
 * Views of the steps the machines of a restored run ended, as their contexts hold them (results, and the steps
 * skipped after a failure), `done` or `skipped`, in the order they ended. Their times are not in the snapshot: each
 * is given `at` (the restore), so a step log lists them without a duration.
 *
 * @example
 * ```ts
 * const ended = restoredSteps(actor, clock.now()); // before the run's watch is set up
 * ```
 */
export function restoredSteps(root: AnyActorRef, at: number): StepView[] {
  const views: StepView[] = [];
  for (const actor of actorTree(root)) {
    const snapshot = actor.getSnapshot() as unknown;
    if (!isMachineSnapshot(snapshot as never)) continue;
    const context = (snapshot as { context?: EndedContext }).context;
    const prefix = typeof context?.pathPrefix === 'string' ? context.pathPrefix : '';
    const logic = (actor as { logic?: unknown }).logic;
    if (!context || !isPlainObject(context.results) || !isMachineLogic(logic)) continue;
    const skipped = Array.isArray(context.skipped) ? new Set(context.skipped) : new Set();
    endedOf(planOf(logic), prefix, context.results, skipped, at, views);
  }
  return views;
}

function endedOf(
  plan: Plan,
  prefix: string,
  results: Readonly<Record<string, unknown>>,
  skipped: ReadonlySet<unknown>,
  at: number,
  into: StepView[],
): void {
  const nodes = stepNodes(plan);
  for (const [name, output] of Object.entries(results)) {
    const node = nodes.get(name);
    const meta = node?.meta;
    if (!meta) continue;
    const path = prefix + name;
    if (meta.kind === 'map') {
      // A map's results are its items' outputs, in item order; its first ones are listed, as for a live run that
      // nobody watched (a restored map of 100,000 items would make as many views at every wake).
      const items = Array.isArray(output) ? Math.min(output.length, LISTED_ITEMS) : 0;
      for (let i = 0; i < items; i++) into.push(ended(`${path}[${i}]`, 'item', at));
      continue;
    }
    const kind = meta.kind === 'wait' ? 'wait' : meta.workflow !== undefined ? 'workflow' : 'step';
    const view = ended(path, kind, at, meta.agent);
    if (skipped.has(name)) view.status = 'skipped';
    // A child workflow's output is its results: its steps are listed under its path, ended before it.
    if (kind === 'workflow' && node.childPlan && isPlainObject(output))
      endedOf(node.childPlan, `${path}/`, output, new Set(), at, into);
    into.push(view);
  }
  // A step skipped without a result.
  for (const name of skipped) {
    if (typeof name !== 'string' || name in results || !nodes.get(name)?.meta) continue;
    const view = ended(prefix + name, nodes.get(name)?.meta?.kind === 'wait' ? 'wait' : 'step', at);
    view.status = 'skipped';
    into.push(view);
  }
}

function ended(path: string, kind: StepView['kind'], at: number, agent?: string): StepView {
  const view = startedView(path, kind, at, false, agent);
  view.status = 'done';
  view.endedAt = at;
  return view;
}

const stepNodesOf = new WeakMap<Plan, Map<string, PlanNode>>();

/**
 * The nodes of a plan that are steps, waits or maps, by step name (they may be deep in regions and arms); made once
 * per plan (a run woken from passivation asks at every wake).
 */
function stepNodes(plan: Plan): Map<string, PlanNode> {
  const cached = stepNodesOf.get(plan);
  if (cached) return cached;
  const byName = new Map<string, PlanNode>();
  stepNodesOf.set(plan, byName);
  const walk = (node: PlanNode) => {
    const kind = node.meta?.kind;
    if (node.meta && (kind === 'step' || kind === 'wait' || kind === 'map')) byName.set(node.meta.name, node);
    for (const child of node.children.values()) walk(child);
  };
  walk(plan.root);
  return byName;
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMachineLogic(logic: unknown): logic is AnyStateMachine {
  return typeof logic === 'object' && logic !== null && 'root' in logic && 'idMap' in logic;
}
