/**
 * Data paths that read a result before any step can have produced it. A step's `input`, a map's `items` or item
 * `input` naming a step that runs after it, beside it (another region of the same parallel: a race at best) or
 * instead of it (another arm of the same branch) reads `undefined` there, every run. Guards that do so are found
 * by the flow analysis (an arm that never runs, a loop that never ends well), since they decide routes; mappings
 * decide none, so they are checked here, on the tree alone, with the same wording.
 *
 * "Before" is structural: a step earlier in a sequence (or inside a parallel, branch or loop earlier in it) may
 * have run, so it counts, even in an arm a run may not take, and a step skipped by `onError: 'skip'` produced
 * `null`. Inside a loop, a body step may read any result of the body: from the second round on it is the round
 * before's (the first round reads `undefined`), which is how generate-critique-revise loops carry feedback.
 * The workflow `result` is read at the end, after every step. Function and registered mappings are not read.
 */
import type { WorkflowNode, WorkflowSpec } from '../model/definition.js';
import type { IssuePath } from '../model/errors.js';
import { walkNodes } from '../model/walk.js';
import { isDataPath } from './names.js';
import type { VerifyProblem } from './verify-types.js';

const KIND: Readonly<Record<string, string>> = { step: 'step', map: 'map', wait: 'waitFor' };

/**
 * The problems of data paths on results that no step before them produces: `unknown-result` errors, each with
 * its path in the JSON form (`steps[0].input`) and its machine state (`stateAt` maps a node's path to it).
 *
 * @example
 * ```ts
 * orderProblems(definition.spec, () => ''); // [{ code: 'unknown-result', path: ['steps', 0, 'input'], ... }]
 * ```
 */
export function orderProblems(spec: WorkflowSpec, stateAt: (path: IssuePath) => string): VerifyProblem[] {
  // Where each result comes from, and each node by path (to name the parallel or branch that separates two steps).
  const producer = new Map<string, IssuePath>();
  const nodes = new Map<string, WorkflowNode>();
  walkNodes(spec.nodes, (node, path) => {
    nodes.set(path.join('.'), node);
    if (KIND[node.kind] !== undefined) producer.set(node.name, path);
  });
  const problems: VerifyProblem[] = [];

  const check = (ref: unknown, refPath: IssuePath, nodePath: IssuePath, ready: ReadonlySet<string>) => {
    if (typeof ref !== 'string' || !ref.startsWith('results.') || !isDataPath(ref)) return;
    const name = ref.split('.')[1] ?? '';
    const from = producer.get(name);
    // A name no step, map or waitFor has is `unknown-result` of another kind (see checks.ts and verify.ts).
    if (from === undefined || ready.has(name)) return;
    problems.push({
      code: 'unknown-result',
      severity: 'error',
      path: refPath,
      state: stateAt(nodePath),
      message: `'${ref}' reads the result of '${name}', which no step before it produces: ${why(nodePath, from, nodes)}`,
      hint: `read '${name}' in a step after it (after the parallel or branch around it), or pass what this step needs from an earlier step or the input; inside a loop, a body step may read a later body step's result of the round before`,
    });
  };

  /** Checks a sequence whose steps may read `before`; returns what may have been produced at its end. */
  const sequence = (list: readonly WorkflowNode[], path: IssuePath, before: ReadonlySet<string>) => {
    let ready = new Set(before);
    list.forEach((node, i) => {
      const at = [...path, i];
      switch (node.kind) {
        case 'step':
          check(node.options.input, [...at, 'input'], at, ready);
          break;
        case 'map':
          check(node.items, [...at, 'items'], at, ready);
          check(node.step.input, [...at, 'step', 'input'], at, ready);
          break;
        case 'parallel': {
          // Every region starts from what was ready before the parallel: a sibling region's results are not.
          const ends = Object.entries(node.regions).map(([region, inner]) =>
            sequence(inner, [...at, 'regions', region], ready),
          );
          ready = union(ready, ...ends);
          break;
        }
        case 'branch': {
          const ends = node.arms.map((arm, a) => sequence(arm.nodes, [...at, 'arms', a, 'steps'], ready));
          if (node.otherwise) ends.push(sequence(node.otherwise, [...at, 'otherwise'], ready));
          ready = union(ready, ...ends);
          break;
        }
        case 'loop': {
          // Every result of the body may hold the round before's value, in every round but the first.
          const body = new Set<string>();
          walkNodes(node.body, (inner) => {
            if (KIND[inner.kind] !== undefined) body.add(inner.name);
          });
          ready = union(ready, sequence(node.body, [...at, 'steps'], union(ready, body)));
          break;
        }
        case 'wait':
          break;
      }
      if (KIND[node.kind] !== undefined) ready.add(node.name);
    });
    return ready;
  };

  sequence(spec.nodes, ['steps'], new Set());
  return problems;
}

function union(...sets: ReadonlySet<string>[]): Set<string> {
  const all = new Set<string>();
  for (const set of sets) for (const name of set) all.add(name);
  return all;
}

/** Why the result at `from` is not produced before the node at `reader`: where the two paths part. */
function why(reader: IssuePath, from: IssuePath, nodes: ReadonlyMap<string, WorkflowNode>): string {
  const producer = nodes.get(from.join('.'));
  const what = `${KIND[producer?.kind ?? 'step'] ?? 'step'} '${producer?.name ?? '?'}'`;
  let k = 0;
  while (k < reader.length && k < from.length && reader[k] === from[k]) k++;
  if (k === reader.length && k === from.length)
    return `it is this ${KIND[producer?.kind ?? 'step'] ?? 'step'}'s own result (only a loop's later rounds see it)`;
  const container = (n: number) => nodes.get(reader.slice(0, n).join('.'))?.name ?? '?';
  // Paths part at a region's name (`regions`, name), at an arm's number (`arms`, n) or between an arm and `otherwise`.
  if (reader[k - 1] === 'regions')
    return `${what} runs in region '${String(from[k])}' of parallel '${container(k - 1)}', beside this one, not before it`;
  if (reader[k - 1] === 'arms' || reader[k] === 'otherwise' || from[k] === 'otherwise')
    return `${what} is in another arm of branch '${container(reader[k - 1] === 'arms' ? k - 1 : k)}': a run takes one arm only`;
  return `${what} runs after it`;
}
