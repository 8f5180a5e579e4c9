/**
 * A workflow's statechart for the run page: the compiled machine's state nodes and transitions as a flat list the
 * page lays out (dagre, compound nodes for parallel and nested states), and the ids of the states a persisted
 * snapshot is in, to light them up.
 */
import type { AnyStateMachine, AnyStateNode, StateValue } from 'xstate';

/** A state node of the chart. `parent` is the id of the state it sits in (none for the machine's top states). */
export interface ChartNode {
  readonly id: string;
  readonly label: string;
  readonly parent?: string;
  /** `atomic`, `compound`, `parallel` or `final`. */
  readonly type: string;
  /** The `meta.flowstate.kind` of the state (`step`, `wait`, `map`, `branch`...), if it has one. */
  readonly kind?: string;
  /** For a `waitFor`: the event it waits for. */
  readonly event?: string;
  /** The step's `expectedMs`, if its definition gives one (the ETA's first guess). */
  readonly expectedMs?: number;
}

/** A transition: `label` is the event (`done`, `error`, `always` for the generated ones) and guard. */
export interface ChartEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

/** What the page draws. */
export interface Chart {
  readonly id: string;
  readonly nodes: readonly ChartNode[];
  readonly edges: readonly ChartEdge[];
}

/**
 * The chart of a machine: every state below the root (the root is the page itself), every transition between them.
 *
 * @example
 * ```ts
 * const chart = chartOf(definition.machine); // chart.nodes[0].id === 'orders.review'
 * ```
 */
export function chartOf(machine: AnyStateMachine): Chart {
  const nodes: ChartNode[] = [];
  const edges: ChartEdge[] = [];
  const walk = (node: AnyStateNode, parent: AnyStateNode | undefined) => {
    if (parent) {
      const meta = (
        node.meta as { flowstate?: { kind?: string; event?: string; expectedMs?: number } } | undefined
      )?.flowstate;
      nodes.push({
        id: node.id,
        // Generated end states (`__end`) read as what they are.
        label: node.key.startsWith('__') ? node.key.replace(/^_+/, '') : node.key,
        ...(parent.parent ? { parent: parent.id } : {}),
        type: node.type,
        ...(meta?.kind ? { kind: meta.kind } : {}),
        ...(meta?.event ? { event: meta.event } : {}),
        ...(typeof meta?.expectedMs === 'number' ? { expectedMs: meta.expectedMs } : {}),
      });
      const add = (
        event: string,
        list: readonly { target?: readonly AnyStateNode[] | undefined; guard?: unknown }[],
      ) => {
        for (const t of list)
          for (const target of t.target ?? []) {
            if (target === node) continue;
            edges.push({ from: node.id, to: target.id, label: edgeLabel(event, t.guard) });
          }
      };
      for (const [event, list] of Object.entries(node.on)) add(event, list);
      if (node.always) add('always', node.always);
    }
    for (const child of Object.values(node.states)) walk(child, node);
  };
  walk(machine.root, undefined);
  // Edges into or out of the root are not drawn (the root is not a node); nor are duplicates.
  const ids = new Set(nodes.map((n) => n.id));
  const seen = new Set<string>();
  const kept = edges.filter((e) => {
    const key = `${e.from}>${e.to}>${e.label}`;
    if (!ids.has(e.from) || !ids.has(e.to) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { id: machine.root.id, nodes, edges: kept };
}

/** Generated event names read as what they mean: an invoke's `done` or `error`. */
function edgeLabel(event: string, guard: unknown): string {
  const name = event.startsWith('xstate.done.actor.')
    ? 'done'
    : event.startsWith('xstate.error.actor.')
      ? 'error'
      : event.startsWith('xstate.done.state.')
        ? 'done'
        : event;
  const g = guard as { type?: string } | string | undefined;
  const guardName = typeof g === 'string' ? g : g?.type;
  return guardName && !guardName.startsWith('flowstate.') ? `${name} [${guardName}]` : name;
}

/**
 * The ids of the states a snapshot's `value` is in (every level, outermost first), as {@link chartOf} names them.
 *
 * @example
 * ```ts
 * activeStates(machine, { triage: 'when0' }); // ['orders.triage', 'orders.triage.when0']
 * ```
 */
export function activeStates(machine: AnyStateMachine, value: StateValue | undefined): string[] {
  const ids: string[] = [];
  const walk = (node: AnyStateNode, v: StateValue) => {
    const entries = typeof v === 'string' ? [[v, undefined] as const] : Object.entries(v);
    for (const [key, sub] of entries) {
      const child = node.states[key];
      if (!child) continue;
      ids.push(child.id);
      if (sub !== undefined) walk(child, sub as StateValue);
    }
  };
  if (value !== undefined) walk(machine.root, value);
  return ids;
}
