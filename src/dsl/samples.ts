/**
 * Sample results: what the path model says a step returned. Guards read results, so the samples decide which
 * routes a walk finds; derived ones make every data path a guard reads true once and false once.
 */
import type { WorkflowSpec } from '../model/definition.js';
import { walkNodes } from '../model/walk.js';
import type { Sample } from './outcomes.js';

/**
 * Sample results for every step, wait and map of a spec: the user's samples where given, else samples derived
 * from the data paths that guards and `map` items read (`results.scan.critical` gives `{ critical: true }` and
 * `{}`; `results.scan.tables` as map items gives `{ tables: [{}, {}] }`), else one empty object.
 *
 * @example
 * ```ts
 * deriveSamples(spec).get('scan'); // [{ output: { critical: true }, label: 'critical' }, { output: {}, label: 'not critical' }]
 * ```
 */
export function deriveSamples(
  spec: WorkflowSpec,
  given: Readonly<Record<string, readonly unknown[]>> = {},
): Map<string, Sample[]> {
  const guardReads = new Map<string, string[][]>();
  const listReads = new Map<string, string[][]>();
  const read = (into: Map<string, string[][]>, ref: unknown) => {
    if (typeof ref !== 'string') return;
    const [root, step, ...rest] = ref.split('.');
    if (root !== 'results' || step === undefined) return;
    // A guard on a map's results reads one item (`results.check.0.ok`): samples are per item.
    const segments = /^\d+$/.test(rest[0] ?? '') ? rest.slice(1) : rest;
    const known = into.get(step) ?? [];
    if (!known.some((k) => k.join('.') === segments.join('.'))) known.push(segments);
    into.set(step, known);
  };
  const names: string[] = [];
  walkNodes(spec.nodes, (node) => {
    names.push(node.name);
    if (node.kind === 'branch') for (const arm of node.arms) read(guardReads, arm.when);
    if (node.kind === 'loop') read(guardReads, node.until);
    if (node.kind === 'map') read(listReads, node.items);
  });
  const samples = new Map<string, Sample[]>();
  for (const name of names) {
    const own = given[name];
    if (own !== undefined && own.length > 0) {
      samples.set(
        name,
        own.map((output) => ({ output })),
      );
      continue;
    }
    const base: Record<string, unknown> = {};
    for (const path of listReads.get(name) ?? []) if (path.length > 0) setPath(base, path, [{}, {}]);
    const reads = guardReads.get(name) ?? [];
    if (reads.length === 0) {
      samples.set(name, [{ output: base }]);
      continue;
    }
    const list: Sample[] = [];
    for (const path of reads) {
      if (path.length === 0) continue;
      const output = structuredClone(base);
      setPath(output, path, true);
      list.push({ output, label: path.join('.') });
    }
    const none = reads.some((p) => p.length === 0) ? null : base;
    const only = reads.length === 1 ? reads[0]?.join('.') : undefined;
    list.push({ output: none, label: only ? `not ${only}` : 'none' });
    if (none === null) list.unshift({ output: base, label: name });
    samples.set(name, list);
  }
  return samples;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let here = target;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      here[key] = value;
      return;
    }
    const next = here[key];
    if (!isRecord(next)) here[key] = {};
    here = here[key] as Record<string, unknown>;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
