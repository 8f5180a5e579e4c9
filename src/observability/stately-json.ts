/**
 * The machine's JSON that Stately's tools read: a definition's compiled machine as a plain machine config.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import type { AnyWorkflowDefinition } from '../model/definition.js';

/**
 * A machine config in JSON, as Stately tools read it (Stately Studio's import, the inspector's diagram).
 *
 * @example
 * ```ts
 * const json: StatelyMachineJSON = toStatelyJSON(definition);
 * createMachine(json); // XState reads it back
 * ```
 */
export interface StatelyMachineJSON {
  /** The machine's id: its root state node's id (a definition's machine has the definition's id). */
  readonly id: string;
  readonly [key: string]: unknown;
}

/**
 * The compiled machine of a definition (or a hand-written machine) as a plain machine config: states, transitions (targets, guard names),
 * invokes (id and source), `always` transitions and `meta`, without functions. Paste it into Stately Studio or
 * save it beside the definition.
 *
 * @example
 * ```ts
 * writeFileSync('review.machine.json', JSON.stringify(toStatelyJSON(review), null, 2));
 * ```
 */
export function toStatelyJSON(
  definition: AnyWorkflowDefinition | { readonly machine: AnyStateMachine } | AnyStateMachine,
): StatelyMachineJSON {
  // A hand-written machine is its own machine (it has a `root`, a definition has a `machine`).
  const root = 'root' in definition ? definition.root : definition.machine.root;
  return { id: root.id, ...stateConfig(root) } as StatelyMachineJSON;
}

function stateConfig(node: AnyStateNode): Record<string, unknown> {
  const target = (t: AnyStateNode) => `#${t.id}`;
  const transition = (t: { target?: readonly AnyStateNode[] | undefined; guard?: unknown }) => {
    const guard = t.guard as { type?: string } | string | undefined;
    const guardName = typeof guard === 'string' ? guard : guard?.type;
    return {
      ...(t.target && t.target.length > 0 ? { target: t.target.map(target) } : {}),
      ...(guardName ? { guard: guardName } : {}),
    };
  };
  const on: Record<string, unknown> = {};
  for (const [event, list] of Object.entries(node.on)) on[event] = list.map(transition);
  const states: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.states)) states[key] = stateConfig(child);
  return {
    ...(node.type !== 'atomic' && node.type !== 'compound' ? { type: node.type } : {}),
    ...(node.initial?.target?.[0] ? { initial: node.initial.target[0].key } : {}),
    ...(node.invoke.length > 0 ? { invoke: node.invoke.map((i) => ({ id: i.id, src: String(i.src) })) } : {}),
    ...(Object.keys(on).length > 0 ? { on } : {}),
    ...(node.always && node.always.length > 0 ? { always: node.always.map(transition) } : {}),
    ...(node.meta !== undefined ? { meta: JSON.parse(JSON.stringify(node.meta)) } : {}),
    ...(Object.keys(states).length > 0 ? { states } : {}),
  };
}
