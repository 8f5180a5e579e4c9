/**
 * Entries into the agent-invoking states of a hand-written machine, counted per run so that each entry keys its
 * attempts afresh. A machine that re-enters such a state invokes its agent again under the same invoke id: without
 * a count, the second entry's first attempt would have the first entry's idempotency key (`run:step:1`), and after a
 * restore take the first entry's journaled output. A compiled loop tells its rounds apart in its context; a
 * hand-written machine's context is its author's, so the count lives in the run's input (the engine's own object)
 * and is stored beside the run's snapshot.
 */
import type { AnyActorRef } from 'xstate';
import type { MachineInput } from '../machine/context.js';

/** The field of a stored snapshot that holds the run's entry counts (XState ignores it when restoring). */
export const ENTRIES_FIELD = 'flowstateEntries';

type Counts = Record<string, number>;

/** The root actor of the run an actor belongs to. */
export function rootOf(actor: AnyActorRef): AnyActorRef {
  let root = actor;
  while (root._parent) root = root._parent;
  return root;
}

function inputOf(root: AnyActorRef): (MachineInput & { entries?: Counts }) | undefined {
  const input = (root as { options?: { input?: unknown } }).options?.input;
  return input !== null && typeof input === 'object'
    ? (input as MachineInput & { entries?: Counts })
    : undefined;
}

/**
 * Counts an entry of the state whose agent step is `path` in the run of `root`; the round its attempts' keys carry:
 * `undefined` for the first entry (the key it always had, so stored journals stay valid), then `'2'`, `'3'`...
 * Without an engine's input (a machine run outside an engine) nothing is counted.
 */
export function enterStep(root: AnyActorRef, path: string): string | undefined {
  const input = inputOf(root);
  if (!input) return undefined;
  input.entries ??= {};
  const n = (input.entries[path] ?? 0) + 1;
  input.entries[path] = n;
  return n > 1 ? String(n) : undefined;
}

/** The run's entry counts to store beside its snapshot, if it has any. */
export function entriesOf(root: AnyActorRef): Readonly<Counts> | undefined {
  const entries = inputOf(root)?.entries;
  return entries && Object.keys(entries).length > 0 ? entries : undefined;
}

/** The entry counts stored beside a snapshot, to give back to the restored run in its input (only sound ones). */
export function storedEntries(snapshot: unknown): { entries: Counts } | undefined {
  const stored = (snapshot as Record<string, unknown> | undefined)?.[ENTRIES_FIELD];
  if (stored === null || typeof stored !== 'object') return undefined;
  const entries: Counts = {};
  for (const [path, n] of Object.entries(stored))
    if (typeof n === 'number' && Number.isInteger(n) && n > 0) entries[path] = n;
  return Object.keys(entries).length > 0 ? { entries } : undefined;
}
