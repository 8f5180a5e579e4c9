/**
 * Snapshots stored before the compiled machine was flat (stored format 2 and older) hold the top-level nodes below a
 * `running` state (`{ running: 'fetch' }`) and the root's other states by their old names (`'done'`,
 * `{ compensating: 'running' }`). A compiled machine maps such a value to today's shape as XState restores it, in
 * this one place: XState calls a logic's `restoreSnapshot` for the root and for each persisted child it restores
 * (child workflows are compiled machines too), whoever restores (the engine, adoption, wake-ups after passivation,
 * `migrate` hooks' output, an embedder's `createActor(machine, { snapshot })`).
 */
import type { AnyStateMachine, StateValue } from 'xstate';
import { END, ROOT_STATES } from './state-keys.js';

/** The old names of the root's own states. */
const LEGACY_ROOT: Readonly<Record<string, string>> = {
  done: ROOT_STATES.done,
  failed: ROOT_STATES.failed,
  compensated: ROOT_STATES.compensated,
  cancelled: ROOT_STATES.cancelled,
};

/** The machines compiled from definitions (hand-written machines keep their own state values). */
const compiled = new WeakSet<AnyStateMachine>();

interface Node {
  readonly states: Readonly<Record<string, Node>>;
}

/** Whether a state value names states that exist below `node` (an empty object fits an atomic region). */
function fits(value: unknown, node: Node): boolean {
  if (typeof value === 'string') return Object.hasOwn(node.states, value);
  if (typeof value !== 'object' || value === null) return false;
  for (const [key, below] of Object.entries(value)) {
    const child = node.states[key];
    if (!Object.hasOwn(node.states, key) || child === undefined) return false;
    if (typeof below === 'object' && below !== null && Object.keys(below).length === 0) continue;
    if (!fits(below, child)) return false;
  }
  return true;
}

/**
 * A stored state value in the flat machine's shape. Without `stored`, a value that already fits the machine is kept
 * (so a step that is named `running` or `done` is never mistaken for an old state): a guess, for snapshots whose
 * format is not known (an embedder's). With `stored: 'old'` (a snapshot the store says is older than flat machines)
 * the old shape is certain and always mapped. An old value is mapped `{ running: X }` to `X`,
 * `{ compensating: Y }` to `{ __compensating: Y }`, `'done'` to `'__done'`; anything else is left for XState to
 * judge as before.
 *
 * @example
 * flatStateValue(machine, { running: { triage: 'when0' } }); // { triage: 'when0' }
 */
export function flatStateValue(machine: AnyStateMachine, value: StateValue, stored?: 'old'): StateValue {
  const root = machine.root as unknown as Node;
  if (stored !== 'old' && fits(value, root)) return value;
  if (typeof value === 'string') return LEGACY_ROOT[value] ?? value;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  if (keys[0] === 'running') {
    // A sequence's `__end` left at once for `done`: never stored, mapped for completeness.
    const running = value.running as StateValue;
    return running === END ? ROOT_STATES.done : running;
  }
  if (keys[0] === 'compensating') return { [ROOT_STATES.compensating]: value.compensating as StateValue };
  return value;
}

/**
 * Makes a compiled machine restore snapshots stored before it was flat: its `restoreSnapshot` maps their state value
 * first (see {@link flatStateValue}). The snapshot given is not changed.
 */
export function restoreLegacySnapshots(machine: AnyStateMachine): AnyStateMachine {
  compiled.add(machine);
  // `provide` makes a new machine from the config: it keeps the mapping (the engine and embedders provide agents).
  const provide = machine.provide.bind(machine);
  machine.provide = ((implementations: Parameters<typeof provide>[0]) =>
    restoreLegacySnapshots(provide(implementations))) as typeof machine.provide;
  const restore = machine.restoreSnapshot.bind(machine);
  machine.restoreSnapshot = (snapshot, scope) => {
    const value = (snapshot as { value?: StateValue }).value;
    if (value === undefined) return restore(snapshot, scope);
    const flat = flatStateValue(machine, value);
    return restore(
      flat === value ? snapshot : ({ ...snapshot, value: flat } as unknown as typeof snapshot),
      scope,
    );
  };
  return machine;
}

/**
 * A snapshot the store says was written before compiled machines were flat (stored format 2 or older), in the flat
 * shape for certain (not guessed as `restoreSnapshot` must): for a compiled machine; a hand-written machine's
 * snapshot is returned as it is.
 */
export function flatSnapshotOf<S>(machine: AnyStateMachine, snapshot: S): S {
  const value = (snapshot as { value?: StateValue }).value;
  if (!compiled.has(machine) || value === undefined) return snapshot;
  const flat = flatStateValue(machine, value, 'old');
  return flat === value ? snapshot : ({ ...snapshot, value: flat } as S);
}
