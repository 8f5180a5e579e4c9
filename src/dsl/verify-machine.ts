/**
 * The checks of `verify` on the compiled machine: what rules out dead ends. Every invoked step has an error route,
 * every branch a default, every loop a bound; the compiler adds all three, so these catch an edited machine.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { indexSpec } from './spec-index.js';
import type { VerifyProblem } from './verify-types.js';

/**
 * Checks on the compiled machine: every invoked step has an error route, every branch a default, every loop a bound.
 *
 * @example
 * ```ts
 * machineChecks(definition, definition.machine).map((p) => p.code); // [] for any machine the compiler made
 * ```
 */
export function machineChecks(definition: AnyWorkflowDefinition, machine: AnyStateMachine): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const index = indexSpec(definition.spec);
  const local = (node: AnyStateNode) => node.id.slice(machine.id.length + 1);
  const specPath = (node: AnyStateNode) => index.states.get(local(node))?.specPath ?? [];
  for (const node of descendants(machine.root)) {
    const events = Object.keys(node.on);
    for (const invoke of node.invoke) {
      const src = String(invoke.src);
      if (src === 'flowstate.timer') continue;
      if (!events.includes(`xstate.error.actor.${invoke.id}`)) {
        problems.push({
          code: 'no-error-route',
          severity: 'error',
          path: specPath(node),
          state: local(node),
          message: `'${invoke.id}' has no error route: its failure would stop the whole run`,
          hint: 'every step needs onError (fail, skip or compensate), which the compiler adds: was the machine edited?',
        });
      }
    }
    const kind = (node.meta as { flowstate?: { kind?: string } } | undefined)?.flowstate?.kind;
    // A map compiled for the path model spawns its items: their failures need a route of their own.
    const spawnsItems = kind === 'map' && node.invoke.length === 0;
    if (spawnsItems && !events.includes('xstate.error.actor.*')) {
      problems.push({
        code: 'no-error-route',
        severity: 'error',
        path: specPath(node),
        state: local(node),
        message: "The map's items have no error route",
        hint: 'a map needs a handler for its items’ failures',
      });
    }
    const loop = (node.parent?.meta as { flowstate?: { kind?: string; name?: string } } | undefined)
      ?.flowstate;
    const bounded = (node.always ?? []).some((t) => guardName(t.guard)?.endsWith('.exhausted'));
    if (node.key === 'check' && loop?.kind === 'loop' && !bounded) {
      const parent = node.parent ?? node;
      problems.push({
        code: 'unbounded-loop',
        severity: 'error',
        path: specPath(parent),
        state: local(parent),
        message: `Loop '${loop.name}' has no bound: it may run forever`,
        hint: 'every loop needs maxIterations, which the compiler turns into a bound: was the machine edited?',
      });
    }
    if (node.key === '__decide' && node.always?.at(-1)?.guard !== undefined) {
      const parent = node.parent ?? node;
      problems.push({
        code: 'no-default',
        severity: 'error',
        path: specPath(parent),
        state: local(parent),
        message: 'The branch has no default: when no guard holds it stays stuck',
        hint: 'give it an `otherwise` arm',
      });
    }
  }
  return problems;
}

/** A transition's guard name (XState keeps a string guard as given, an object one with its `type`). */
function guardName(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard;
  const type = (guard as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
}

/**
 * Every state node under `node`, depth first, as `getStateNodes` of `xstate/graph` lists them (written here: that
 * module costs about 5 ms to load, on the path of every engine's first run).
 */
function descendants(node: AnyStateNode, out: AnyStateNode[] = []): AnyStateNode[] {
  for (const child of Object.values(node.states)) {
    out.push(child);
    descendants(child, out);
  }
  return out;
}
