/**
 * `workflowPaths` on a hand-written machine: shortest routes over its explored state space (dsl/machine-space.ts)
 * to each end, then routes until every outcome of every invoke (done per sample output, error) and every event a
 * state takes is on some path, then every state. Paths have the shape of a definition's, with the machine's own
 * output at the end: `testWorkflow` does not drive them (a hand-written machine's actors are its own).
 */
import type { AnyEventObject, AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { machineStates, machineVersion } from '../dsl/handwritten.js';
import { exploreMachine, type MachineEdge, type MachineSpace } from '../dsl/machine-space.js';
import { ConfigurationError } from '../model/errors.js';
import { distancesTo, shortestSuffix } from './graph-search.js';
import type { PathEnd, PathStep, WorkflowPath } from './replay.js';

/**
 * Options of {@link machinePaths} (those of `workflowPaths` that apply to a machine).
 *
 * @example
 * ```ts
 * machinePaths(machine, { input: { id: 1 }, outputs: { lookup: [{ found: true }, { found: false }] } });
 * ```
 */
export interface MachinePathsOptions {
  readonly input?: unknown;
  /** Sample outputs of invoked actors, by step name, `src` or invoke id; each is a separate `done` outcome. */
  readonly outputs?: Readonly<Record<string, readonly unknown[]>>;
  /** Events with payloads, offered where a state takes their type. */
  readonly events?: readonly AnyEventObject[];
  readonly limit?: number;
  readonly allowUncovered?: boolean;
}

type Edge = MachineEdge & { readonly from: string };

/**
 * The test paths of a hand-written machine.
 *
 * @example
 * ```ts
 * machinePaths(machine).map((p) => p.name); // ['lookup done -> score done -> APPROVE', 'lookup fails', ...]
 * ```
 */
export function machinePaths(machine: AnyStateMachine, options: MachinePathsOptions = {}): WorkflowPath[] {
  const { paths, missing } = walkMachine(machine, options);
  if (missing.length > 0 && !options.allowUncovered) {
    throw new ConfigurationError(
      `Machine '${machine.id}' has parts no path reaches:\n  - ${missing.map((s) => `state '${s}' is on no path`).join('\n  - ')}\nGive sample outputs that reach them (workflowPaths(machine, { outputs: { step: [...] } })), check the machine with verify(), or pass allowUncovered: true`,
    );
  }
  return paths;
}

/**
 * The paths of a hand-written machine from one input, with the states (their paths) none of them reaches.
 *
 * @example
 * ```ts
 * const { paths, missing } = walkMachine(machine, { input: { id: 1 } });
 * ```
 */
export function walkMachine(
  machine: AnyStateMachine,
  options: MachinePathsOptions = {},
): { paths: WorkflowPath[]; missing: string[] } {
  const limit = options.limit ?? 20_000;
  const space = exploreMachine(machine, {
    input: options.input ?? {},
    limit,
    ...(options.outputs ? { outputs: options.outputs } : {}),
    ...(options.events ? { events: options.events } : {}),
  });
  if (space.nodes.size >= limit && !space.complete && space.failures.length === 0) {
    throw new ConfigurationError(
      `Machine '${machine.id}' has more than ${limit} states to walk: raise \`limit\`, or give fewer sample outputs`,
    );
  }
  const prefix = shortest(space);
  const toEnd = distancesTo(space, (s) => s.status === 'done');
  const toAny = distancesTo(space, (s) => s.status !== 'active');
  const chosen = new Map<string, Edge[]>();
  const add = (edges: Edge[]) => chosen.set(edges.map((e) => `${e.from}>${e.to}`).join('|'), edges);
  const through = (key: string, edge?: MachineEdge) => {
    const from = edge ? edge.to : key;
    const head = [...(prefix.get(key) ?? []), ...(edge ? [{ ...edge, from: key }] : [])];
    const tail = shortestSuffix(space, toEnd.has(from) ? toEnd : toAny, from).map(({ from: at, edge }) => ({
      ...edge,
      from: at,
    }));
    return [...head, ...tail];
  };
  for (const [key, node] of space.nodes) if (node.snapshot.status !== 'active') add(through(key));
  const order = [...space.nodes.keys()].sort(
    (a, b) => (prefix.get(a)?.length ?? 0) - (prefix.get(b)?.length ?? 0),
  );
  const outcomes = new Set([...chosen.values()].flatMap((p) => p.map((e) => e.outcome)));
  for (const key of order) {
    for (const edge of space.nodes.get(key)?.edges ?? []) {
      if (outcomes.has(edge.outcome)) continue;
      const path = through(key, edge);
      add(path);
      for (const e of path) outcomes.add(e.outcome);
    }
  }
  const missing = machineStates(machine)
    .filter((s) => !space.visited.has(s.node.id))
    .map((s) => s.path);
  const version = machineVersion(machine);
  const names = new Map<string, number>();
  const paths = [...chosen.values()].map((edges) => {
    const steps = edges.map((e) => stepOf(e, space));
    const last = space.nodes.get(edges.at(-1)?.to ?? space.initial)?.snapshot as AnyMachineSnapshot;
    const end = endOf(last, edges.at(-1));
    const tokens = steps.map((s) => s.label);
    if (end.status !== 'done') tokens.push(end.status === 'active' ? 'stops' : end.status);
    const base = tokens.join(' -> ') || 'start';
    const seen = (names.get(base) ?? 0) + 1;
    names.set(base, seen);
    return {
      name: seen === 1 ? base : `${base} (${seen})`,
      workflow: machine.id,
      version,
      input: json(options.input ?? {}),
      decisions: [],
      steps,
      end,
    };
  });
  return { paths, missing };
}

/** The shortest route to every state: breadth first, as the space was explored. */
function shortest(space: MachineSpace): Map<string, Edge[]> {
  const prefix = new Map<string, Edge[]>([[space.initial, []]]);
  const queue = [space.initial];
  for (let i = 0; i < queue.length; i++) {
    const key = queue[i] as string;
    for (const edge of space.nodes.get(key)?.edges ?? []) {
      if (prefix.has(edge.to)) continue;
      prefix.set(edge.to, [...(prefix.get(key) ?? []), { ...edge, from: key }]);
      queue.push(edge.to);
    }
  }
  return prefix;
}

function stepOf(edge: Edge, space: MachineSpace): PathStep {
  const snapshot = space.nodes.get(edge.to)?.snapshot as AnyMachineSnapshot;
  return {
    label: edge.label,
    step: edge.step,
    target: edge.kind === 'event' ? 'event' : 'step',
    outcome:
      edge.kind === 'done'
        ? { kind: 'done', output: json(edge.output) }
        : edge.kind === 'error'
          ? { kind: 'error' }
          : { kind: 'event' },
    event: json(edge.event) as PathStep['event'],
    decisions: [],
    state: json(snapshot.value),
  };
}

/** A machine that ended in a final state is done; one an actor's unhandled failure stopped has failed. */
function endOf(snapshot: AnyMachineSnapshot, last: Edge | undefined): PathEnd {
  const state = json(snapshot.value);
  if (snapshot.status === 'done') return { status: 'done', state, output: json(snapshot.output) };
  if (snapshot.status !== 'error') return { status: 'active', state };
  return { status: 'failed', state, error: last ? { stepPath: last.step } : {} };
}

function json<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
