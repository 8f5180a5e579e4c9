/**
 * Where each node of a spec sits in the compiled machine: the compiler names states after nodes (`scan`,
 * `triage.when0.review`, `refine.round.draft`: the top-level nodes are the machine root's children), so a state can be reported with its path in the
 * definition (`steps[1].arms[0]`) and a node can be found by name.
 */
import { DECIDE, END, ROOT_STATES } from '../machine/state-keys.js';
import type { WorkflowNode, WorkflowSpec } from '../model/definition.js';
import type { IssuePath } from '../model/errors.js';

/**
 * What a state of the compiled machine stands for.
 *
 * @example
 * ```ts
 * indexSpec(spec).states.get('triage.when0'); // { kind: 'arm', name: 'triage.when0', specPath: ['steps', 1, 'arms', 0], ... }
 * ```
 */
export interface StateInfo {
  /** `step`, `wait`, `map`, `parallel`, `branch`, `loop`, or a container: `region`, `arm`, `round`, `end`. */
  readonly kind: string;
  /** The node's name; for containers, a readable name such as `triage.when0` or `analyze.tables`. */
  readonly name: string;
  /** The state's path below the machine root, dot-separated: `triage.when0`; `''` for the root, the workflow as a whole. */
  readonly statePath: string;
  /** Where it is in the definition's JSON form: `['steps', 1, 'arms', 0]`. */
  readonly specPath: IssuePath;
}

/**
 * Every state a spec compiles to (by state path), and every node by name.
 *
 * @example
 * ```ts
 * const { states, nodes } = indexSpec(definition.spec);
 * ```
 */
export interface SpecIndex {
  readonly states: ReadonlyMap<string, StateInfo>;
  readonly nodes: ReadonlyMap<string, WorkflowNode>;
}

/**
 * Builds the index, following the compiler's naming.
 *
 * @example
 * ```ts
 * indexSpec(definition.spec).nodes.get('scan'); // the step node named scan
 * ```
 */
export function indexSpec(spec: WorkflowSpec): SpecIndex {
  const states = new Map<string, StateInfo>();
  const nodes = new Map<string, WorkflowNode>();
  const add = (kind: string, name: string, path: readonly string[], specPath: IssuePath) => {
    const statePath = path.join('.');
    states.set(statePath, { kind, name, statePath, specPath });
  };
  const sequence = (
    list: readonly WorkflowNode[],
    path: readonly string[],
    specPath: IssuePath,
    owner: string,
  ) => {
    list.forEach((node, i) => {
      const here = [...path, node.name];
      const at = [...specPath, i];
      nodes.set(node.name, node);
      add(node.kind, node.name, here, at);
      switch (node.kind) {
        case 'parallel':
          for (const [region, inner] of Object.entries(node.regions)) {
            add('region', `${node.name}.${region}`, [...here, region], [...at, 'regions', region]);
            sequence(inner, [...here, region], [...at, 'regions', region], `${node.name}.${region}`);
          }
          return;
        case 'branch':
          node.arms.forEach((arm, a) => {
            add('arm', `${node.name}.when${a}`, [...here, `when${a}`], [...at, 'arms', a]);
            sequence(arm.nodes, [...here, `when${a}`], [...at, 'arms', a, 'steps'], `${node.name}.when${a}`);
          });
          add('arm', `${node.name}.otherwise`, [...here, 'otherwise'], [...at, 'otherwise']);
          sequence(
            node.otherwise ?? [],
            [...here, 'otherwise'],
            [...at, 'otherwise'],
            `${node.name}.otherwise`,
          );
          add('decide', `${node.name} decision`, [...here, DECIDE], at);
          add('end', node.name, [...here, END], at);
          return;
        case 'loop':
          add('round', `${node.name} round`, [...here, 'round'], [...at, 'steps']);
          sequence(node.body, [...here, 'round'], [...at, 'steps'], `${node.name} round`);
          add('end', node.name, [...here, END], at);
          return;
        default:
          return;
      }
    });
    // The top-level sequence ends in the root's `__done`, the others in their own `__end`.
    if (list.length > 0) add('end', owner, [...path, path.length === 0 ? ROOT_STATES.done : END], specPath);
  };
  sequence(spec.nodes, [], ['steps'], 'the workflow');
  return { states, nodes };
}

/** The state path of the machine root (the workflow as a whole): the top-level nodes are its children. */
export const ROOT_PATH = '';

/**
 * Whether state path `inner` lies strictly below `outer` (every path lies below the root's, {@link ROOT_PATH}).
 *
 * @example
 * ```ts
 * isBelow('triage.when0', 'triage'); // true
 * ```
 */
export function isBelow(inner: string, outer: string): boolean {
  return outer === ROOT_PATH ? inner !== ROOT_PATH : inner.startsWith(`${outer}.`);
}

/**
 * The state path of the state around one: `triage` for `triage.when0`, {@link ROOT_PATH} for a top-level node.
 *
 * @example
 * ```ts
 * parentPath('scan'); // ''
 * ```
 */
export function parentPath(statePath: string): string {
  const dot = statePath.lastIndexOf('.');
  return dot < 0 ? ROOT_PATH : statePath.slice(0, dot);
}
