/**
 * Hand-written XState machines as workflows: what the engine, `verify` and `workflowPaths` share about one. A
 * machine is wrapped as a definition-like object (id, version, machine) so the runtime handles it as it handles a
 * definition; its states and invokes are listed here once, for the engine's binding and for the checks.
 */
import { createHash } from 'node:crypto';
import { type AnyStateMachine, type AnyStateNode, fromPromise, type PromiseActorLogic } from 'xstate';
import type {
  AnyWorkflowDefinition,
  EscalationPolicy,
  RetryPolicy,
  WorkflowDefinition,
} from '../model/definition.js';
import { ConfigurationError } from '../model/errors.js';

/**
 * What a state of a hand-written machine may say about itself in `meta: { flowstate: { ... } }`: its step's name
 * and ETA prior for progress, and, for a state that invokes a registered agent, how that agent is called.
 *
 * @example
 * ```ts
 * lookup: { meta: { flowstate: { expectedMs: 800, retry: { attempts: 3 }, timeoutMs: 5_000 } }, invoke: { src: 'lookup' } }
 * ```
 */
export interface HandwrittenStepMeta {
  /** The step's name in progress, the step log and idempotency keys. @default the state's path (`review.fetch`) */
  readonly name?: string;
  /** A prior for the ETA, until history exists. */
  readonly expectedMs?: number;
  /** Free text shown in progress. */
  readonly description?: string;
  /** For an agent invoke: attempts and backoff. @default one attempt */
  readonly retry?: RetryPolicy;
  /** For an agent invoke: the per-attempt timeout. @default none */
  readonly timeoutMs?: number;
  /** For an agent invoke: an agent to try once the invoked one ran out of attempts. */
  readonly fallback?: string;
  /** For an agent invoke: ask a supervisor agent or a human when every attempt failed. */
  readonly escalate?: EscalationPolicy;
}

/** One state of a machine with what it invokes. */
export interface MachineState {
  readonly node: AnyStateNode;
  /** The state's path from the root, dotted: `review.fetch`. */
  readonly path: string;
  /** Its `meta.flowstate`, if it has one. */
  readonly meta: HandwrittenStepMeta | undefined;
  /** Its invokes: their ids and sources (an inline actor logic's source is XState's generated name). */
  readonly invokes: readonly { readonly id: string; readonly src: string }[];
}

/**
 * A typed stand-in for a registered agent in `setup({ actors })`, so `invoke: { src: 'lookup' }` type-checks and
 * `event.output` is typed: on a Flowstate engine the agent of the same name runs in its place, as a step. Outside
 * an engine it fails at once (the agent is the engine's).
 *
 * @example
 * ```ts
 * setup({ actors: { lookup: agentActor<{ id: number }, { name: string }>() } }).createMachine({ ... });
 * ```
 */
export function agentActor<I = unknown, O = unknown>(): PromiseActorLogic<O, I> {
  return fromPromise<O, I>(async ({ self }) => {
    throw new ConfigurationError(
      `Actor '${self.id}' stands for an agent: run the machine with engine.start(machine, input), which provides it`,
    );
  });
}

const MACHINE: unique symbol = Symbol.for('flowstate.handwritten') as never;
const wrapped = new WeakMap<AnyStateMachine, AnyWorkflowDefinition>();

/**
 * Whether a value is an XState machine (rather than a definition, which has a `spec`).
 *
 * @example
 * ```ts
 * isStateMachine(setup({}).createMachine({ id: 'm' })); // true
 * ```
 */
export function isStateMachine(value: unknown): value is AnyStateMachine {
  return (
    typeof value === 'object' &&
    value !== null &&
    'root' in value &&
    'config' in value &&
    typeof (value as { provide?: unknown }).provide === 'function' &&
    !('spec' in value)
  );
}

/**
 * A hand-written machine as a definition the runtime runs: same object for the same machine (so the engine binds
 * it once), its id the machine's, its version a hash of its config. Throws a `ConfigurationError` for a machine
 * without an id (a run is stored and resumed by it) or with a parallel root (a run needs final states to end in).
 *
 * @example
 * ```ts
 * const definition = machineDefinition(machine); // definition.id === machine.id
 * ```
 */
export function machineDefinition(machine: AnyStateMachine): AnyWorkflowDefinition {
  const known = wrapped.get(machine);
  if (known) return known;
  const id = (machine.config as { id?: unknown }).id;
  if (typeof id !== 'string' || id.length === 0) {
    throw new ConfigurationError(
      'A hand-written machine needs an id to run as a workflow (its runs are stored and resumed by it): createMachine({ id: "orders", ... })',
    );
  }
  if (machine.root.type === 'parallel') {
    throw new ConfigurationError(
      `Machine '${id}' has a parallel root: put the parallel state under a compound root, so the run has final states to end in`,
    );
  }
  const definition: WorkflowDefinition = {
    id,
    description: undefined,
    spec: { id, options: {}, nodes: [] },
    version: machineVersion(machine),
    machine,
    toJSON: () => {
      throw new ConfigurationError(
        `Machine '${id}' is hand-written: it has no definition JSON (toStatelyJSON(machine) gives its machine JSON)`,
      );
    },
  };
  Object.defineProperty(definition, MACHINE, { value: machine });
  wrapped.set(machine, Object.freeze(definition));
  return definition;
}

/**
 * The hand-written machine a definition wraps, or `undefined` for a built definition.
 *
 * @example
 * ```ts
 * handwrittenMachineOf(machineDefinition(machine)) === machine; // true
 * ```
 */
export function handwrittenMachineOf(definition: AnyWorkflowDefinition): AnyStateMachine | undefined {
  return (definition as { [MACHINE]?: AnyStateMachine })[MACHINE];
}

/**
 * A stable hash of a machine's config: functions count by their source text, nested machines by their own
 * config, so an edited state, transition or inline action changes it (and `migrate` applies to older runs).
 *
 * @example
 * ```ts
 * machineVersion(machine); // '3f2a9c0d1e4b5a67'
 * ```
 */
export function machineVersion(machine: AnyStateMachine): string {
  return createHash('sha256').update(canonical(machine.config, new Set())).digest('hex').slice(0, 16);
}

function canonical(value: unknown, seen: Set<object>): string {
  if (value === undefined) return 'null';
  if (typeof value === 'function') return JSON.stringify(`fn:${value.toString()}`);
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (isStateMachine(value)) return `{"machine":${canonical(value.config, seen)}}`;
  // A config may hold shared or cyclic objects (actor logic, schemas): each counts once per branch.
  if (seen.has(value)) return '"cycle"';
  seen.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((v) => canonical(v, seen)).join(',')}]`;
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k], seen)}`).join(',')}}`;
  } finally {
    seen.delete(value);
  }
}

/**
 * Every state of a machine, depth first, with its path, its `meta.flowstate` and its invokes.
 *
 * @example
 * ```ts
 * for (const s of machineStates(machine)) console.log(s.path, s.invokes.map((i) => i.src));
 * ```
 */
export function machineStates(machine: AnyStateMachine): MachineState[] {
  const out: MachineState[] = [];
  const walk = (node: AnyStateNode, path: readonly string[]) => {
    for (const [key, child] of Object.entries(node.states)) {
      const at = [...path, key];
      const flow = (child.meta as { flowstate?: unknown } | undefined)?.flowstate;
      out.push({
        node: child,
        path: at.join('.'),
        meta: typeof flow === 'object' && flow !== null ? (flow as HandwrittenStepMeta) : undefined,
        invokes: child.invoke.map((i) => ({ id: i.id, src: String(i.src) })),
      });
      walk(child, at);
    }
  };
  walk(machine.root, []);
  return out;
}
