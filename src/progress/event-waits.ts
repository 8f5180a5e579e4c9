/**
 * The states of a machine that wait for an event from outside (a hand-written `review: { on: { approve: ... } }`):
 * the run is then `waiting`, as it is on a `waitFor` step. Which states count is decided once per machine, in its
 * plan ({@link PlanNode.waitsForEvent}); these walk the active ones.
 */
import type { AnyMachineSnapshot, StateValue } from 'xstate';
import { type PlanNode, planOf } from './plan.js';

/**
 * Whether an active state under `node` waits for an outside event, given the state value under it.
 *
 * @example
 * ```ts
 * awaitsEvent(planOf(snapshot.machine).root, snapshot.value); // true in `review`
 * ```
 */
export function awaitsEvent(node: PlanNode, value: StateValue | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value === 'string') return node.children.get(value)?.waitsForEvent === true;
  for (const key in value) {
    const child = node.children.get(key);
    if (child && awaitsEvent(child, value[key])) return true;
  }
  return false;
}

/**
 * The names of the active states of a machine's snapshot that wait for an outside event: their
 * `meta.flowstate.name`, else their path (`review`, `order.review`). Empty once the machine has ended.
 *
 * @example
 * ```ts
 * eventWaits(run.actor.getSnapshot()); // ['review']
 * ```
 */
export function eventWaits(snapshot: AnyMachineSnapshot): string[] {
  const out: string[] = [];
  if (snapshot.status !== 'active') return out;
  const walk = (node: PlanNode, value: StateValue, path: string) => {
    for (const key of typeof value === 'string' ? [value] : Object.keys(value)) {
      const child = node.children.get(key);
      if (!child) continue;
      const at = path === '' ? key : `${path}.${key}`;
      if (child.waitsForEvent) out.push(child.meta?.name ?? at);
      const below = typeof value === 'string' ? undefined : value[key];
      if (below !== undefined) walk(child, below, at);
    }
  };
  walk(planOf(snapshot.machine).root, snapshot.value, '');
  return out;
}
