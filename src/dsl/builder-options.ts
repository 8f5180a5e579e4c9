/**
 * Unknown keys in the options of `map`, `loop`, `waitFor`, `parallel`, `branch` (its arms) and `workflow(id,
 * options)`, refused at build() as the JSON form refuses them (`unrecognized_keys`, same paths).
 *
 * The builder copies the options it knows into the node it makes (`concurrency`, `until`, ...), so a typo is gone
 * before `checkSpec` sees the node; and a sub-builder (a region, an arm, a loop's body) does not know where its
 * nodes will sit, so it cannot name the path itself. Hence the builder hands each options object over with its node
 * ({@link keepOptions}) and `checkSpec`, which walks the nodes with their paths, checks them
 * ({@link checkGivenOptions}). The workflow's own options are the spec's `options` object itself.
 */
import type { WorkflowNode, WorkflowOptions } from '../model/definition.js';
import type { IssuePath } from '../model/errors.js';
import {
  isObject,
  LOOP_OPTION_KEYS,
  MAP_OPTION_KEYS,
  OTHERWISE_ARM_KEYS,
  PARALLEL_OPTION_KEYS,
  type Report,
  unknownKeys,
  WAIT_FOR_OPTION_KEYS,
  WHEN_ARM_KEYS,
  WORKFLOW_OPTION_KEYS,
} from './option-keys.js';

/**
 * The options each builder node was made from. Weak, and beside the node rather than on it: a node's shape is the
 * spec's (hashed for its version, written as JSON), and a spec made without the builder has none to check.
 */
const given = new WeakMap<WorkflowNode, unknown>();

/**
 * Remembers the options object (for `branch`, the arms) that the builder made `node` of, for `checkSpec` to refuse
 * its unknown keys. Returns `node`.
 *
 * @example
 * ```ts
 * this.nodes.push(keepOptions({ kind: 'loop', name, body, until: options.until, ... }, options));
 * ```
 */
export function keepOptions<N extends WorkflowNode>(node: N, options: unknown): N {
  given.set(node, options);
  return node;
}

/**
 * Reports each unknown key of the options the builder made `node` of (see {@link keepOptions}), at `path` (the
 * node's). Nothing for a node made otherwise. A map's `step` is the node's own and is checked with the steps.
 */
export function checkGivenOptions(node: WorkflowNode, path: IssuePath, report: Report): void {
  const options = given.get(node);
  if (options === undefined) return;
  if (node.kind !== 'branch') {
    const known = KNOWN[node.kind];
    if (known) check(options, known.keys, path, `the options of ${known.method} '${node.name}'`, report);
    return;
  }
  if (!Array.isArray(options)) return;
  // The builder tells an `otherwise` arm by its key, so `{ when, then, otherwise }` was taken as `otherwise` with
  // its guard dropped: refused here as keys an `otherwise` arm does not have.
  options.forEach((arm: unknown, i) => {
    const otherwise = isObject(arm) && 'otherwise' in arm;
    const keys = otherwise ? OTHERWISE_ARM_KEYS : WHEN_ARM_KEYS;
    const what = `${otherwise ? 'the `otherwise` arm' : 'arm'} ${i} of branch '${node.name}'`;
    check(arm, keys, [...path, 'arms', i], what, report);
  });
}

/** The keys of each kind's options, and the builder method the message names. */
const KNOWN: Partial<
  Record<WorkflowNode['kind'], { readonly keys: readonly string[]; readonly method: string }>
> = {
  map: { keys: MAP_OPTION_KEYS, method: 'map' },
  loop: { keys: LOOP_OPTION_KEYS, method: 'loop' },
  wait: { keys: WAIT_FOR_OPTION_KEYS, method: 'waitFor' },
  parallel: { keys: PARALLEL_OPTION_KEYS, method: 'parallel' },
};

/**
 * Reports each unknown key of a workflow's options at the top level of the path, where the JSON form reports one
 * (`['onErorr']`).
 */
export function checkWorkflowOptionKeys(options: WorkflowOptions, id: string, report: Report): void {
  check(options, WORKFLOW_OPTION_KEYS, [], `the options of workflow '${id}'`, report);
}

function check(
  value: unknown,
  known: readonly string[],
  path: IssuePath,
  what: string,
  report: Report,
): void {
  if (isObject(value)) unknownKeys(value, known, path, what, report);
}
