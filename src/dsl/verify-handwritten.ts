/**
 * `verify` on a hand-written machine: over its explored state space (machine-space.ts), with the outcomes of its
 * invoked actors (done and error for each invoke) and the events its states take. It reports states no route
 * reaches, states from which the machine can never end, a machine that can never end done, and invokes whose
 * failure no state handles. Findings that depend on a walk that was cut short (the limit, a guard that threw on a
 * sample output) are warnings, never errors: the engine refuses a machine only for what it is sure of.
 */
import type { AnyStateMachine } from 'xstate';
import { machineStates, machineVersion } from './handwritten.js';
import { exploreMachine, type MachineSpace } from './machine-space.js';
import type { VerifyProblem } from './verify-types.js';

/**
 * Options of {@link verifyMachine}.
 *
 * @example
 * ```ts
 * verifyMachine(machine, { input: { id: 1 }, outputs: { lookup: [{ found: true }, { found: false }] } });
 * ```
 */
export interface VerifyMachineOptions {
  /** The input the walk starts from. @default {} */
  readonly input?: unknown;
  /** Sample outputs of invoked actors, by step name, `src` or invoke id (guards on `event.output` read them). */
  readonly outputs?: Readonly<Record<string, readonly unknown[]>>;
  /** At most this many states are walked. @default 20000 */
  readonly limit?: number;
}

/**
 * Checks a hand-written machine (the shape of `verify`'s report).
 *
 * @example
 * ```ts
 * const report = verifyMachine(machine);
 * if (!report.ok) console.log(report.problems);
 * ```
 */
export function verifyMachine(machine: AnyStateMachine, options: VerifyMachineOptions = {}) {
  const space = exploreMachine(machine, {
    input: options.input ?? {},
    limit: options.limit ?? 20_000,
    ...(options.outputs ? { outputs: options.outputs } : {}),
  });
  const sure = space.complete;
  const severity = sure ? 'error' : 'warning';
  const states = machineStates(machine);
  const problems: VerifyProblem[] = [];
  const at = (path: string) => path.split('.').flatMap((key) => ['states', key]);
  if (!sure) {
    problems.push({
      code: 'too-large',
      severity: 'warning',
      path: [],
      state: '',
      message:
        space.failures.length > 0
          ? `Some transitions could not be followed: ${space.failures.slice(0, 3).join('; ')}`
          : `The machine has more than ${options.limit ?? 20_000} states to walk`,
      hint: 'give sample `outputs` that its guards and actions can read, or raise `limit`',
    });
  }
  for (const state of states) {
    if (!space.visited.has(state.node.id)) {
      problems.push({
        code: 'unreachable-state',
        severity,
        path: at(state.path),
        state: state.path,
        message: `State '${state.path}' is never entered`,
        hint: 'add a transition to it, or remove it',
      });
    }
    const handled = Object.keys(state.node.on);
    for (const invoke of state.invokes) {
      if (handled.includes(`xstate.error.actor.${invoke.id}`)) continue;
      problems.push({
        code: 'no-error-route',
        severity: 'warning',
        path: [...at(state.path), 'invoke'],
        state: state.path,
        message: `'${invoke.src}' has no onError: its failure fails the whole run`,
        hint: 'add onError where the machine can recover (a retry, a fallback state); else this is on purpose',
      });
    }
  }
  problems.push(...endings(space, severity));
  problems.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return {
    workflow: machine.id,
    version: machineVersion(machine),
    ok: !problems.some((p) => p.severity === 'error'),
    problems,
    states: states.length,
    routes: space.nodes.size,
  };
}

/** States from which no end is reachable (each named once), and a machine that never ends done. */
function endings(space: MachineSpace, severity: 'error' | 'warning'): VerifyProblem[] {
  const incoming = new Map<string, string[]>();
  for (const [key, node] of space.nodes)
    for (const edge of node.edges) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), key]);
  const reach = (goal: (status: string) => boolean) => {
    const found = new Set<string>();
    const queue = [...space.nodes].filter(([, n]) => goal(n.snapshot.status)).map(([k]) => k);
    for (const key of queue) found.add(key);
    for (let i = 0; i < queue.length; i++)
      for (const from of incoming.get(queue[i] as string) ?? [])
        if (!found.has(from)) {
          found.add(from);
          queue.push(from);
        }
    return found;
  };
  const ends = reach((status) => status !== 'active');
  const problems: VerifyProblem[] = [];
  const named = new Set<string>();
  for (const [key, node] of space.nodes) {
    if (ends.has(key)) continue;
    const state = JSON.stringify(node.snapshot.value);
    if (named.has(state)) continue;
    named.add(state);
    problems.push({
      code: 'cannot-finish',
      severity,
      path: [],
      state,
      message: `In state ${state} the machine can never end: no event it takes leads to a final state`,
      hint: 'give it a transition on (an event, an actor outcome, a delay) that leads to a final state',
    });
  }
  if (!reach((status) => status === 'done').has(space.initial)) {
    problems.push({
      code: 'never-succeeds',
      severity: 'warning',
      path: [],
      state: '',
      message: 'No route ends in a final state: every run fails or never ends',
      hint: 'give the machine a top-level final state that some route reaches',
    });
  }
  return problems;
}
