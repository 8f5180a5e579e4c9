/**
 * Readable names for the arms of a definition's branches wherever the CLI prints them. The compiled machine names
 * an arm's state `when0`, `when1`... (`otherwise` for the last): right for XState, meaningless in a terminal, so
 * the CLI says `when <guard>` (the guard's name, or its function's) and `arm n` for an anonymous guard.
 */
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { walkNodes } from '../model/walk.js';

/**
 * `branch:armKey` → the arm's readable name, for every branch of the definition; `armKey` is the arm's index
 * (`0`), its state name (`when0`), or `otherwise`.
 *
 * @example
 * ```ts
 * armNames(definition).get('gate:when0'); // 'when destructive'
 * ```
 */
export function armNames(definition: AnyWorkflowDefinition): Map<string, string> {
  const names = new Map<string, string>();
  walkNodes(definition.spec.nodes, (node) => {
    if (node.kind !== 'branch') return;
    node.arms.forEach((arm, i) => {
      // An anonymous arrow in `{ when: (ctx) => ... }` is named 'when' by JavaScript: no name of its own.
      const fn = typeof arm.when === 'function' && arm.when.name !== 'when' ? arm.when.name : '';
      const guard = typeof arm.when === 'string' ? arm.when : fn;
      const name = guard ? `when ${guard}` : `arm ${i + 1}`;
      names.set(`${node.name}:${i}`, name);
      names.set(`${node.name}:when${i}`, name);
    });
    names.set(`${node.name}:otherwise`, 'otherwise');
  });
  return names;
}

/**
 * A state path of the compiled machine (`gate.when0.approval`) as a reader would say it: `gate → when destructive →
 * approval`; the root (`''`, what `verify` reports for the workflow as a whole) is `the workflow`.
 *
 * @example
 * ```ts
 * readableState(definition, 'severity.otherwise.advice'); // 'severity → otherwise → advice'
 * ```
 */
export function readableState(definition: AnyWorkflowDefinition, state: string): string {
  if (state === '') return 'the workflow';
  const names = armNames(definition);
  const parts = state.split('.');
  return parts.map((part, i) => names.get(`${parts[i - 1] ?? ''}:${part}`) ?? part).join(' → ');
}

/**
 * A test path's name (`... -> gate: when0 -> approval done`) with each branch arm named: `gate: when destructive`.
 *
 * @example
 * ```ts
 * readablePathName(definition, 'lint done -> gate: when0 -> approval done');
 * ```
 */
export function readablePathName(definition: AnyWorkflowDefinition, name: string): string {
  const names = armNames(definition);
  return name.replace(/([^\s>]+): (when\d+)(?= |$)/g, (whole, branch: string, arm: string) => {
    const label = names.get(`${branch}:${arm}`);
    return label === undefined ? whole : `${branch}: ${label}`;
  });
}
