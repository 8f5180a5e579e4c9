import type { StepOptions, WorkflowNode, WorkflowSpec } from './definition.js';
import type { IssuePath } from './errors.js';

/** Visits every node of a tree (not into child workflows) with its path in the JSON form. */
export function walkNodes(
  nodes: readonly WorkflowNode[],
  visit: (node: WorkflowNode, path: IssuePath) => void,
  path: IssuePath = ['steps'],
): void {
  nodes.forEach((node, i) => {
    const here = [...path, i];
    visit(node, here);
    switch (node.kind) {
      case 'parallel':
        for (const [region, inner] of Object.entries(node.regions))
          walkNodes(inner, visit, [...here, 'regions', region]);
        return;
      case 'branch':
        node.arms.forEach((arm, a) => {
          walkNodes(arm.nodes, visit, [...here, 'arms', a, 'steps']);
        });
        if (node.otherwise) walkNodes(node.otherwise, visit, [...here, 'otherwise']);
        return;
      case 'loop':
        walkNodes(node.body, visit, [...here, 'steps']);
        return;
      default:
        return;
    }
  });
}

/** The step options of a node that runs an agent (a step, or a map's per-item step), with their path. */
export function stepOptionsOf(
  node: WorkflowNode,
  path: IssuePath,
): { options: StepOptions; path: IssuePath } | undefined {
  if (node.kind === 'step') return { options: node.options, path };
  if (node.kind === 'map') return { options: node.step, path: [...path, 'step'] };
  return undefined;
}

/**
 * Every agent name a definition uses (steps, map steps, fallbacks, compensations, supervisors).
 *
 * @example
 * ```ts
 * agentNames(definition.spec); // Set { 'scan', 'review', 'unbook' }
 * ```
 */
export function agentNames(spec: WorkflowSpec): Set<string> {
  const names = new Set<string>();
  walkNodes(spec.nodes, (node, path) => {
    const options = stepOptionsOf(node, path)?.options;
    if (!options) return;
    for (const name of [options.agent, options.fallback, options.compensate]) if (name) names.add(name);
    if (options.escalate && options.escalate.to !== 'human') names.add(options.escalate.to);
  });
  return names;
}
