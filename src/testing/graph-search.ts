/**
 * Shortest routes to an end over a walked state space: what the paths of a workflow (`paths.ts`, on the graph of
 * `graph.ts`) and of a hand-written machine (`paths-handwritten.ts`, on a `MachineSpace`) both need.
 */
import type { AnyMachineSnapshot } from 'xstate';

/** A walked state space: each state's snapshot and the edges out of it, by the state's key. */
export interface SearchGraph<E extends { readonly to: string }> {
  readonly nodes: ReadonlyMap<
    string,
    { readonly snapshot: AnyMachineSnapshot; readonly edges: readonly E[] }
  >;
}

/**
 * How many edges each state is from one `goal` accepts, by reverse breadth-first search; a state from which no
 * such state is reachable has no entry.
 *
 * @example
 * ```ts
 * const toEnd = distancesTo(space, (s) => s.status === 'done');
 * ```
 */
export function distancesTo<E extends { readonly to: string }>(
  graph: SearchGraph<E>,
  goal: (snapshot: AnyMachineSnapshot) => boolean,
): Map<string, number> {
  const incoming = new Map<string, string[]>();
  for (const [key, node] of graph.nodes)
    for (const edge of node.edges) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), key]);
  const dist = new Map<string, number>();
  const queue = [...graph.nodes].filter(([, n]) => goal(n.snapshot)).map(([k]) => k);
  for (const key of queue) dist.set(key, 0);
  for (let i = 0; i < queue.length; i++) {
    const key = queue[i] as string;
    for (const from of incoming.get(key) ?? []) {
      if (dist.has(from)) continue;
      dist.set(from, (dist.get(key) ?? 0) + 1);
      queue.push(from);
    }
  }
  return dist;
}

/**
 * The shortest way from a state down the distances of {@link distancesTo}, each edge with the state it leaves
 * (empty when the state is a goal or reaches none).
 *
 * @example
 * ```ts
 * const events = shortestSuffix(graph, toEnd, key).map(({ edge }) => edge.event);
 * ```
 */
export function shortestSuffix<E extends { readonly to: string }>(
  graph: SearchGraph<E>,
  dist: ReadonlyMap<string, number>,
  from: string,
): { readonly from: string; readonly edge: E }[] {
  const steps: { from: string; edge: E }[] = [];
  for (let key = from; (dist.get(key) ?? 0) > 0; ) {
    const here = dist.get(key) as number;
    const edge = graph.nodes.get(key)?.edges.find((e) => dist.get(e.to) === here - 1);
    if (!edge) break;
    steps.push({ from: key, edge });
    key = edge.to;
  }
  return steps;
}
