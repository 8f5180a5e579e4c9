/**
 * The build-time check of data paths on results (`results.fetch.rows`): they must name a step, map or `waitFor` of
 * the workflow. Kept apart from checks.ts, which runs it, so each stays small.
 */
import type { WorkflowSpec } from '../model/definition.js';
import type { IssuePath } from '../model/errors.js';
import { walkNodes } from '../model/walk.js';
import { isDataPath } from './names.js';
import type { Report } from './option-keys.js';

/** Node kinds that store no result under their own name. */
const NO_RESULT: Readonly<Record<string, string>> = {
  parallel: 'a parallel step',
  branch: 'a branch',
  loop: 'a loop',
};

/**
 * Data paths on results (`results.fetch.rows`) in mappings and guards must name a step, map or `waitFor` of the
 * workflow: anything else reads `undefined` at run time (a typo, or a parallel, branch or loop, which have no
 * result). Whether the named step can have run before the reader is `verify`'s question (verify-order.ts for
 * mappings, the flow analysis for guards).
 */
export function checkResultPaths(spec: WorkflowSpec, report: Report): void {
  const results = new Set<string>();
  const containers = new Map<string, string>();
  walkNodes(spec.nodes, (node) => {
    if (node.kind === 'step' || node.kind === 'map' || node.kind === 'wait') results.add(node.name);
    else containers.set(node.name, NO_RESULT[node.kind] ?? node.kind);
  });
  const check = (ref: unknown, path: IssuePath) => {
    if (typeof ref !== 'string' || !ref.startsWith('results.') || !isDataPath(ref)) return;
    const name = ref.split('.')[1] as string;
    if (results.has(name)) return;
    const container = containers.get(name);
    if (container !== undefined) {
      report(
        'unknown-result',
        path,
        `'${ref}' reads the result of '${name}', ${container}, which has no result of its own: read the results of the steps inside it`,
      );
      return;
    }
    const known = [...results];
    const some = known.length <= 12 ? known.join(', ') : `${known.slice(0, 12).join(', ')}, …`;
    report(
      'unknown-result',
      path,
      `'${ref}' reads the result of '${name}', but no step, map or waitFor has that name${known.length > 0 ? ` (known: ${some})` : ''}`,
    );
  };
  walkNodes(spec.nodes, (node, path) => {
    switch (node.kind) {
      case 'step':
        check(node.options.input, [...path, 'input']);
        return;
      case 'map':
        check(node.items, [...path, 'items']);
        check(node.step.input, [...path, 'step', 'input']);
        return;
      case 'branch':
        node.arms.forEach((arm, i) => {
          check(arm.when, [...path, 'arms', i, 'when']);
        });
        return;
      case 'loop':
        check(node.until, [...path, 'until']);
        return;
      default:
        return;
    }
  });
  check(spec.options.result, ['result']);
}
