/**
 * Where each result stops mattering: a result a guard reads decides routes up to that guard (to the end of the
 * loop around it, which reads it again every round), and no further. Past that point the flow analysis forgets it,
 * so routes that differ only in it merge, and a long workflow of branches stays linear instead of doubling at each.
 */
import type { GuardRef, WorkflowNode, WorkflowSpec } from '../model/definition.js';

/** Document-order places of the nodes, and the last place each guard-read result (by step name) is read. */
export interface Liveness {
  readonly order: ReadonlyMap<WorkflowNode, number>;
  readonly lastUse: ReadonlyMap<string, number>;
}

/**
 * Computes the {@link Liveness} of a spec.
 *
 * @example
 * ```ts
 * const { lastUse } = liveness(definition.spec);
 * lastUse.get('scan'); // the place of the last guard reading results.scan
 * ```
 */
export function liveness(spec: WorkflowSpec): Liveness {
  const order = new Map<WorkflowNode, number>();
  const loops: Array<[number, number]> = [];
  const reads: Array<[GuardRef, number]> = [];
  let next = 0;
  const visit = (nodes: readonly WorkflowNode[]) => {
    for (const n of nodes) {
      const at = next++;
      order.set(n, at);
      if (n.kind === 'branch') {
        for (const arm of n.arms) {
          reads.push([arm.when, at]);
          visit(arm.nodes);
        }
        visit(n.otherwise ?? []);
      } else if (n.kind === 'loop') {
        reads.push([n.until, at]);
        visit(n.body);
        loops.push([at, next - 1]);
      } else if (n.kind === 'parallel') for (const r of Object.values(n.regions)) visit(r);
    }
  };
  visit(spec.nodes);
  const lastUse = new Map<string, number>();
  for (const [ref, at] of reads) {
    if (typeof ref !== 'string' || !ref.startsWith('results.')) continue;
    const step = ref.split('.')[1] ?? '';
    const last = Math.max(at, ...loops.filter(([from, to]) => from <= at && at <= to).map(([, to]) => to));
    lastUse.set(step, Math.max(lastUse.get(step) ?? 0, last));
  }
  return { order, lastUse };
}
