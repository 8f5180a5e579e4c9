/**
 * The state space of a hand-written machine, walked breadth first with XState's pure `transition` (no actor runs,
 * no custom action executes; `assign` does). Each state is offered the outcomes of what it invokes (done, with
 * each sample output, and error) and the events its states take, so failure routes are routes too. States are
 * told apart by value and context, so a machine whose context grows without bound hits the `limit`.
 */
import {
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createMachine,
  getInitialMicrosteps,
  getMicrosteps,
  getStateNodes,
  initialTransition,
  transition,
} from 'xstate';
import { machineStates } from './handwritten.js';

/**
 * Options of {@link exploreMachine}.
 *
 * @example
 * ```ts
 * exploreMachine(machine, { input: { id: 1 }, outputs: { lookup: [{ found: true }, { found: false }] }, limit: 20_000 });
 * ```
 */
export interface MachineSpaceOptions {
  /** The machine's input. @default {} */
  readonly input?: unknown;
  /** Sample outputs of invoked actors, by step name, `src` or invoke id; each is a `done` outcome. @default one `undefined` */
  readonly outputs?: Readonly<Record<string, readonly unknown[]>>;
  /** Events with payloads, offered where a state takes their type (instead of a bare `{ type }`). */
  readonly events?: readonly AnyEventObject[];
  /** At most this many states are walked. */
  readonly limit: number;
}

/**
 * One edge: an event and the state it leads to.
 *
 * @example
 * ```ts
 * space.nodes.get(space.initial)?.edges.map((e) => e.label); // ['lookup done', 'lookup fails']
 * ```
 */
export interface MachineEdge {
  readonly event: AnyEventObject;
  readonly to: string;
  /** Readable: `lookup done`, `lookup done #2`, `lookup fails`, `APPROVE`. */
  readonly label: string;
  /** Unique per step and outcome (or the event type): what coverage counts. */
  readonly outcome: string;
  /** The step an outcome happens to, or the event type. */
  readonly step: string;
  readonly kind: 'done' | 'error' | 'event';
  readonly output?: unknown;
}

/**
 * The explored space.
 *
 * @example
 * ```ts
 * const { initial, nodes, complete } = exploreMachine(machine, { limit: 20_000 });
 * ```
 */
export interface MachineSpace {
  readonly initial: string;
  readonly nodes: ReadonlyMap<
    string,
    { readonly snapshot: AnyMachineSnapshot; readonly edges: MachineEdge[] }
  >;
  /** Every state was expanded (the limit was not hit) and no transition threw. */
  readonly complete: boolean;
  /** Why a transition could not be followed (a guard or an `assign` that threw on a sample). */
  readonly failures: readonly string[];
  /** The ids of the state nodes some explored state has active. */
  readonly visited: ReadonlySet<string>;
}

let stub: AnyStateMachine | undefined;
/**
 * Invoked actors do not run during a walk (their outcomes are events): an agent's stand-in is never started. Made
 * on the first walk of a machine that needs one, not when the package is imported.
 */
function stubMachine(): AnyStateMachine {
  stub ??= createMachine({ id: 'flowstate-stub' });
  return stub;
}

const SKIP = /^(xstate\.(done|error)\.actor\.|xstate\.done\.state\.|xstate\.init$|\*$)|\.\*$/;

/**
 * Walks a machine's reachable states.
 *
 * @example
 * ```ts
 * const space = exploreMachine(machine, { limit: 20_000 });
 * ```
 */
export function exploreMachine(machine: AnyStateMachine, options: MachineSpaceOptions): MachineSpace {
  const stepOf = new Map<string, string>();
  for (const state of machineStates(machine))
    for (const invoke of state.invokes) stepOf.set(invoke.id, state.meta?.name ?? state.path);
  const samples = (id: string, src: string): readonly unknown[] => {
    const step = stepOf.get(id) ?? id;
    return options.outputs?.[step] ?? options.outputs?.[src] ?? options.outputs?.[id] ?? [undefined];
  };
  const failures: string[] = [];
  const visited = new Set<string>();
  const nodes = new Map<string, { snapshot: AnyMachineSnapshot; edges: MachineEdge[] }>();
  // Actors the engine provides (agents) are unknown to the machine: stubs keep XState from warning of them.
  const missing: Record<string, AnyStateMachine> = {};
  const provided = (machine.implementations as { actors?: Record<string, unknown> }).actors ?? {};
  for (const state of machineStates(machine))
    for (const { src } of state.invokes)
      if (!src.startsWith('xstate.invoke.') && provided[src] === undefined) missing[src] = stubMachine();
  if (Object.keys(missing).length > 0) machine = machine.provide({ actors: missing });
  const [first] = initialTransition(machine, (options.input ?? {}) as never);
  // States passed through (an `always` that moves on at once) count as entered, not only those a walk rests in.
  const pass = (steps: ReadonlyArray<readonly [AnyMachineSnapshot, unknown]>) => {
    for (const [s] of steps) for (const state of getStateNodes(machine.root, s.value)) visited.add(state.id);
  };
  pass(getInitialMicrosteps(machine, (options.input ?? {}) as never));
  const initial = keyOf(first);
  nodes.set(initial, { snapshot: first, edges: [] });
  const queue = [initial];
  let complete = true;
  for (let i = 0; i < queue.length; i++) {
    const key = queue[i] as string;
    const node = nodes.get(key) as { snapshot: AnyMachineSnapshot; edges: MachineEdge[] };
    const active = getStateNodes(machine.root, node.snapshot.value);
    for (const state of active) visited.add(state.id);
    if (node.snapshot.status !== 'active') continue;
    for (const edge of offered(active, samples, stepOf, options.events)) {
      let next: AnyMachineSnapshot;
      try {
        [next] = transition(machine, node.snapshot, edge.event as never);
      } catch (error) {
        complete = false;
        failures.push(`${edge.label}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const to = keyOf(next);
      if (to === key) continue;
      node.edges.push({ ...edge, to });
      if (nodes.has(to)) continue;
      if (nodes.size >= options.limit) {
        complete = false;
        continue;
      }
      pass(getMicrosteps(machine, node.snapshot, edge.event as never));
      nodes.set(to, { snapshot: next, edges: [] });
      queue.push(to);
    }
  }
  return { initial, nodes, complete, failures, visited };
}

type Offered = Omit<MachineEdge, 'to'>;

/** The events the active states can take: their invokes' outcomes, then the events they handle. */
function offered(
  active: ReturnType<typeof getStateNodes>,
  samples: (id: string, src: string) => readonly unknown[],
  stepOf: ReadonlyMap<string, string>,
  events: readonly AnyEventObject[] | undefined,
): Offered[] {
  const out: Offered[] = [];
  const types = new Map<string, string>();
  for (const state of active) {
    for (const invoke of state.invoke) {
      const step = stepOf.get(invoke.id) ?? invoke.id;
      const outputs = samples(invoke.id, String(invoke.src));
      outputs.forEach((output, n) => {
        const nth = outputs.length > 1 ? ` #${n + 1}` : '';
        out.push({
          event: { type: `xstate.done.actor.${invoke.id}`, output },
          label: `${step} done${nth}`,
          outcome: `${step}:done${nth}`,
          step,
          kind: 'done',
          output,
        });
      });
      out.push({
        event: {
          type: `xstate.error.actor.${invoke.id}`,
          error: { name: 'Error', message: `${step} failed (modelled)` },
        },
        label: `${step} fails`,
        outcome: `${step}:error`,
        step,
        kind: 'error',
      });
    }
    for (const type of Object.keys(state.on))
      if (!SKIP.test(type)) types.set(type, labelOf(type, state.path));
  }
  for (const [type, label] of types) {
    const given = events?.filter((e) => e.type === type) ?? [];
    for (const event of given.length > 0 ? given : [{ type }])
      out.push({ event, label, outcome: type, step: type, kind: 'event' });
  }
  return out;
}

/** An event's label: its type, or for a delayed transition (`xstate.after.1000.m.wait`) `wait after 1000 ms`. */
function labelOf(type: string, path: readonly string[]): string {
  const delay = /^xstate\.after\.([^.]+)\./.exec(type)?.[1];
  if (delay === undefined) return type;
  return `${path.join('.')} after ${delay}${/^\d+$/.test(delay) ? ' ms' : ''}`;
}

/** A state's identity: its value, status and context (JSON; a context JSON cannot hold counts by its value). */
function keyOf(snapshot: AnyMachineSnapshot): string {
  const value = JSON.stringify(snapshot.value);
  try {
    return `${snapshot.status} ${value} ${JSON.stringify(snapshot.context) ?? ''}`;
  } catch {
    return `${snapshot.status} ${value}`;
  }
}
