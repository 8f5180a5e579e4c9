/**
 * The static graph of a machine as the ETA walks it: every state node with its `meta.flowstate` step information,
 * its children, and the sibling states it can move on to. Built once per machine and cached.
 */
import type { AnyStateMachine, StateValue } from 'xstate';
import { isReservedEventType } from '../model/names.js';

/**
 * The `meta.flowstate` a compiled state carries (and a hand-written one may carry too).
 *
 * @example
 * ```ts
 * createMachine({ states: { fetch: { meta: { flowstate: { kind: 'step', name: 'fetch', expectedMs: 800 } } } } });
 * ```
 */
export interface FlowMeta {
  readonly kind: 'step' | 'map' | 'wait' | 'parallel' | 'branch' | 'arm' | 'loop';
  /** The step name; a hand-written state without one is named by its key. */
  readonly name: string;
  readonly expectedMs?: number;
  readonly agent?: string;
  /** The child workflow's id, for a step that runs one. */
  readonly workflow?: string;
  readonly concurrency?: number;
  /** For an arm: its branch's name and its index (or `'otherwise'`). */
  readonly branch?: string;
  readonly arm?: number | string;
  readonly maxIterations?: number;
  readonly timeoutMs?: number;
  /** For a compiled `waitFor`: the event type it waits for. */
  readonly event?: string;
}

/**
 * One state node of a plan.
 *
 * @example
 * ```ts
 * for (const child of planOf(machine).root.children.values()) console.log(child.id, child.meta?.kind);
 * ```
 */
export interface PlanNode {
  /** The state node's id (`wf.fetch`). */
  readonly id: string;
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly meta: FlowMeta | undefined;
  readonly children: ReadonlyMap<string, PlanNode>;
  readonly initial: PlanNode | undefined;
  /** Siblings a transition of this node leads to (targets deeper in a sibling count as that sibling). */
  readonly successors: readonly PlanNode[];
  /** Ids of the actors this state invokes. */
  readonly invokeIds: readonly string[];
  /** The plan of the machine a child workflow step invokes, when the machine provides it. */
  readonly childPlan: Plan | undefined;
  /** Its place in its plan (0 to `size - 1`), so a walk keeps per-node figures in arrays. */
  readonly index: number;
  /**
   * A state that, once entered, waits for an event from outside (see docs/handwritten.md#waiting): atomic, nothing
   * invoked in it or its ancestors (an invoked actor may be what sends the event), not a `waitFor` (told by its
   * step), a transition of its own on an event `send` accepts, and none of its events is one the machine raises
   * itself beside it (a `raise` in another region of a parallel state it is in: that region will send it).
   */
  readonly waitsForEvent: boolean;
  /** The event types it waits for from outside, when {@link waitsForEvent}; else none. */
  readonly outsideEvents: readonly string[];
}

/**
 * The plan of one machine.
 *
 * @example
 * ```ts
 * const { id, root, size } = planOf(machine);
 * ```
 */
export interface Plan {
  /** The machine id: the workflow id for a compiled workflow. */
  readonly id: string;
  readonly root: PlanNode;
  /** How many nodes it has. */
  readonly size: number;
}

/** The subset of XState's `StateNode` a plan reads. */
interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: PlanNode['type'];
  readonly meta?: unknown;
  readonly parent?: StateNodeLike | undefined;
  readonly states: Readonly<Record<string, StateNodeLike>>;
  readonly initial?: { readonly target: readonly StateNodeLike[] };
  readonly transitions: ReadonlyMap<string, ReadonlyArray<{ readonly target?: readonly StateNodeLike[] }>>;
  readonly always?: ReadonlyArray<{ readonly target?: readonly StateNodeLike[] }>;
  readonly invoke: ReadonlyArray<{ readonly id: string; readonly src: unknown }>;
  readonly entry?: readonly unknown[];
  readonly exit?: readonly unknown[];
}

const plans = new WeakMap<object, Plan>();

/**
 * The plan of a machine, cached per machine.
 *
 * @example
 * ```ts
 * const plan = planOf(definition.machine);
 * plan.root.children.get('fetch');
 * ```
 */
export function planOf(machine: AnyStateMachine): Plan {
  const cached = plans.get(machine);
  if (cached) return cached;
  const root = machine.root as unknown as StateNodeLike;
  const nodes = new Map<StateNodeLike, MutableNode>();
  const build = (node: StateNodeLike, invokedAbove: boolean): MutableNode => {
    const invoked = invokedAbove || node.invoke.length > 0;
    const meta = flowMetaOf(node.meta, node.key);
    const children = new Map<string, PlanNode>();
    const outsideEvents =
      node.type === 'atomic' && !invoked && meta?.kind !== 'wait'
        ? [...node.transitions.keys()].filter((type) => !isReservedEventType(type))
        : [];
    const built: MutableNode = {
      id: node.id,
      key: node.key,
      type: node.type,
      meta,
      children,
      initial: undefined,
      successors: [],
      invokeIds: node.invoke.map((i) => i.id),
      childPlan: undefined,
      index: nodes.size,
      waitsForEvent: outsideEvents.length > 0,
      outsideEvents,
    };
    nodes.set(node, built);
    for (const [key, child] of Object.entries(node.states)) children.set(key, build(child, invoked));
    const first = node.type === 'compound' ? node.initial?.target[0] : undefined;
    built.initial = first ? children.get(first.key) : undefined;
    return built;
  };
  const plan: Plan = { id: machine.id, root: build(root, false), size: nodes.size };
  // A plan is cached before child plans are built, so a workflow that (indirectly) embeds itself terminates.
  plans.set(machine, plan);
  const implementations = machine.implementations as {
    actors?: Record<string, unknown>;
    actions?: Record<string, unknown>;
  };
  const actors = implementations.actors ?? {};
  raisedBeside(root, nodes, implementations.actions ?? {});
  for (const [node, built] of nodes) {
    built.successors = successorsOf(node, nodes);
    if (built.meta?.kind === 'step' && built.meta.workflow !== undefined) {
      const src = node.invoke[0]?.src;
      const logic = typeof src === 'string' ? actors[src] : src;
      if (isMachine(logic)) built.childPlan = planOf(logic);
    }
  }
  return plan;
}

type MutableNode = { -readonly [K in keyof PlanNode]: PlanNode[K] };

function successorsOf(node: StateNodeLike, nodes: Map<StateNodeLike, MutableNode>): PlanNode[] {
  const found = new Set<PlanNode>();
  const add = (targets: readonly StateNodeLike[] | undefined) => {
    for (let t: StateNodeLike | undefined = targets?.[0]; t; t = t.parent) {
      if (t.parent !== node.parent || !node.parent) continue;
      const sibling = nodes.get(t);
      if (sibling && t !== node) found.add(sibling);
      break;
    }
  };
  for (const transitions of node.transitions.values()) for (const t of transitions) add(t.target);
  for (const t of node.always ?? []) add(t.target);
  return [...found];
}

/**
 * Drops the outside waits of states whose event the machine raises itself in another region of a parallel state
 * they are in: `raise({ type: 'built' })` in one region's actions, `on: { built: ... }` in the other's waiting state.
 * That region sends the event, not the outside world. Only raises with a fixed event are read (an event computed by
 * a function, `enqueueActions`, a `sendTo`, and events an invoked or spawned actor sends are not known here).
 */
function raisedBeside(
  root: StateNodeLike,
  nodes: Map<StateNodeLike, MutableNode>,
  actions: Readonly<Record<string, unknown>>,
): void {
  const candidates = [...nodes.values()].some((n) => n.waitsForEvent);
  if (!candidates) return;
  const raised = new Map<StateNodeLike, ReadonlySet<string>>();
  const raisedIn = (node: StateNodeLike): ReadonlySet<string> => {
    let known = raised.get(node);
    if (!known) {
      const types = new Set<string>();
      collectRaised(node, actions, types);
      known = types;
      raised.set(node, known);
    }
    return known;
  };
  const walk = (node: StateNodeLike, beside: ReadonlySet<string>) => {
    const built = nodes.get(node);
    if (built?.waitsForEvent && built.outsideEvents.some((type) => beside.has(type))) {
      built.waitsForEvent = false;
      built.outsideEvents = [];
    }
    for (const child of Object.values(node.states)) {
      if (node.type !== 'parallel') {
        walk(child, beside);
        continue;
      }
      // In a region: what the other regions raise comes from beside.
      const others = new Set(beside);
      for (const other of Object.values(node.states))
        if (other !== child) for (const type of raisedIn(other)) others.add(type);
      walk(child, others);
    }
  };
  walk(root, new Set());
}

/** Adds the event types of the raises with a fixed event in a node's actions and all its descendants'. */
function collectRaised(
  node: StateNodeLike,
  actions: Readonly<Record<string, unknown>>,
  into: Set<string>,
): void {
  const read = (list: readonly unknown[] | undefined) => {
    for (const action of list ?? []) {
      const type = raisedType(action, actions);
      if (type !== undefined) into.add(type);
    }
  };
  read(node.entry);
  read(node.exit);
  for (const transitions of node.transitions.values()) for (const t of transitions) read(actionsOf(t));
  for (const t of node.always ?? []) read(actionsOf(t));
  for (const child of Object.values(node.states)) collectRaised(child, actions, into);
}

function actionsOf(transition: object): readonly unknown[] | undefined {
  const list = (transition as { actions?: unknown }).actions;
  return Array.isArray(list) ? list : undefined;
}

/** The type of the event a `raise` action raises, if fixed; a named action is looked up in the implementations. */
function raisedType(action: unknown, actions: Readonly<Record<string, unknown>>): string | undefined {
  let resolved = action;
  if (typeof action === 'string') resolved = actions[action];
  else if (typeof action === 'object' && action !== null) {
    const name = (action as { type?: unknown }).type;
    if (typeof name === 'string') resolved = actions[name];
  }
  if (typeof resolved !== 'function') return undefined;
  const { type, event } = resolved as { type?: unknown; event?: unknown };
  if (type !== 'xstate.raise' || typeof event !== 'object' || event === null) return undefined;
  const raisedEvent = (event as { type?: unknown }).type;
  return typeof raisedEvent === 'string' ? raisedEvent : undefined;
}

function isMachine(logic: unknown): logic is AnyStateMachine {
  return typeof logic === 'object' && logic !== null && 'root' in logic && 'idMap' in logic;
}

/**
 * Reads `meta.flowstate`, tolerating hand-written metadata: a state without a name is named by its key.
 *
 * @example
 * ```ts
 * flowMetaOf({ flowstate: { kind: 'step' } }, 'fetch'); // { kind: 'step', name: 'fetch' }
 * ```
 */
export function flowMetaOf(meta: unknown, key: string): FlowMeta | undefined {
  const flow = (meta as { flowstate?: unknown } | undefined)?.flowstate;
  if (typeof flow !== 'object' || flow === null) return undefined;
  const { kind, name } = flow as { kind?: unknown; name?: unknown };
  if (typeof kind !== 'string' || !KINDS.has(kind)) return undefined;
  return { ...(flow as FlowMeta), name: typeof name === 'string' ? name : key };
}

const KINDS = new Set(['step', 'map', 'wait', 'parallel', 'branch', 'arm', 'loop']);

/**
 * Appends to `into` every active node under `node` that carries step meta, given the state value under it.
 *
 * @example
 * ```ts
 * const active = activeMetaNodes(plan.root, snapshot.value, []);
 * ```
 */
export function activeMetaNodes(node: PlanNode, value: StateValue | undefined, into: PlanNode[]): PlanNode[] {
  if (value === undefined) return into;
  if (typeof value === 'string') {
    const child = node.children.get(value);
    if (child?.meta) into.push(child);
    return into;
  }
  for (const key in value) {
    const child = node.children.get(key);
    if (!child) continue;
    if (child.meta) into.push(child);
    activeMetaNodes(child, value[key], into);
  }
  return into;
}
