/**
 * The explored state graph of a workflow model: `xstate/graph`'s adjacency map, keyed by the model's state
 * serialization, with the events a state does not take left out.
 */
import type { AnyEventObject, AnyMachineSnapshot } from 'xstate';
import { type AdjacencyMap, getAdjacencyMap } from 'xstate/graph';
import { ConfigurationError } from '../model/errors.js';
import type { WorkflowModel } from './model.js';

/**
 * The explored graph: every reachable state (serialized) with its state-changing edges.
 *
 * @example
 * ```ts
 * const { initial, nodes } = explore(model);
 * ```
 */
export interface StateGraph {
  readonly initial: string;
  readonly nodes: ReadonlyMap<string, GraphNode>;
}

/**
 * One reachable state.
 *
 * @example
 * ```ts
 * for (const [key, node] of explore(model).nodes) console.log(key, node.edges.length);
 * ```
 */
export interface GraphNode {
  readonly snapshot: AnyMachineSnapshot;
  readonly edges: readonly { readonly event: AnyEventObject; readonly to: string }[];
}

/**
 * Walks every reachable state of a model with `getAdjacencyMap`, keeping the edges that change the state.
 *
 * @example
 * ```ts
 * const { initial, nodes } = explore(new WorkflowModel(spec, version, { limit: 20_000 }));
 * ```
 */
export function explore(model: WorkflowModel): StateGraph {
  let adjacency: AdjacencyMap<AnyMachineSnapshot, AnyEventObject>;
  try {
    adjacency = getAdjacencyMap(model.logic() as never, model.traversal() as never) as typeof adjacency;
  } catch (error) {
    if (error instanceof Error && error.message === 'Traversal limit exceeded') {
      throw new ConfigurationError(
        `Workflow '${model.spec.id}' has more than ${model.options.limit} states to walk: raise \`limit\`, or give fewer sample outputs`,
      );
    }
    throw error;
  }
  const nodes = new Map<string, GraphNode>();
  for (const [key, value] of Object.entries(adjacency)) {
    const transitions = Object.values(value.transitions) as Array<{
      event: AnyEventObject;
      state: AnyMachineSnapshot;
    }>;
    // An event a state does not take leaves it as it is: not a route.
    const edges = transitions
      .map(({ event, state }) => ({ event, to: model.serialize(state) }))
      .filter((e) => e.to !== key);
    nodes.set(key, { snapshot: value.state, edges });
  }
  return { initial: model.serialize(model.initial), nodes };
}
