/**
 * A run's input is stored once, in its run record (`RunRecord.input`, sealed there). Its snapshot's context holds
 * the same object (and so do the step actors and child workflows that take the input unmapped), so writing it in
 * every checkpoint would repeat the whole input each time: a run given 20,000 items wrote them at every checkpoint.
 * A checkpoint writes a small marker where the snapshot holds the run's input object itself, and a restore puts the
 * record's input back there, before anything else (a migration hook included) sees the snapshot.
 *
 * Only the very object the run was given is left out (compared by reference, so nothing is compared by value while
 * checkpointing): a child workflow's mapped input, or a hand-written machine's context that built its own value,
 * stays in the snapshot as before. Snapshots written before this (the input inside) restore as they are; the input
 * found there, when it equals the record's, is swapped for the record's object so the run's next checkpoints leave it
 * out.
 */

/** The key of the marker object that stands, in a stored snapshot, for the run's input. */
export const RUN_INPUT_MARK = '$flowstate.input';

/** What stands, in a stored snapshot, where the run's input was. */
export const RUN_INPUT_MARKER: Readonly<Record<string, 1>> = Object.freeze({ [RUN_INPUT_MARK]: 1 });
const MARKER = RUN_INPUT_MARKER;

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;

/**
 * Whether a run input is left out of stored snapshots: objects and strings (what a reference, or for a string the
 * same text, can stand for); numbers and booleans are not worth a marker.
 */
export const omitsRunInput = (input: unknown): boolean =>
  (typeof input === 'object' && input !== null) || (typeof input === 'string' && input.length > 0);

/**
 * A persisted snapshot with the run's input left out wherever it stands as a context's `input` or an actor input's
 * `input` (the root machine, its step actors, child workflows given the input unmapped, recursively). Copies only
 * the nodes on the way to what it replaces; the snapshot given is not changed.
 */
export function withoutRunInput<T>(persisted: T, input: unknown): T {
  if (!omitsRunInput(input) || !isNode(persisted)) return persisted;
  return omit(persisted, input) as T;
}

function omit(node: Node, input: unknown): Node {
  let out: Node | undefined;
  const context = node.context;
  if (isNode(context) && context.input === input) {
    out = { ...node, context: { ...context, input: MARKER } };
  }
  const actorInput = node.input;
  if (isNode(actorInput) && actorInput.input === input) {
    out = { ...(out ?? node), input: { ...actorInput, input: MARKER } };
  }
  const children = node.children;
  if (isNode(children)) {
    let copied: Node | undefined;
    for (const [id, child] of Object.entries(children)) {
      if (!isNode(child) || !isNode(child.snapshot)) continue;
      const snapshot = omit(child.snapshot, input);
      if (snapshot === child.snapshot) continue;
      copied ??= { ...children };
      copied[id] = { ...child, snapshot };
    }
    if (copied) out = { ...(out ?? node), children: copied };
  }
  return out ?? node;
}

/**
 * Puts the run's input (the record's, opened) back into a snapshot parsed from the store, in place: every marker
 * {@link withoutRunInput} left becomes `input` itself (the same object, so the restored run's checkpoints leave it
 * out again). In a snapshot written before markers existed, an input equal to the record's (as JSON) is replaced by
 * it for the same reason. Returns the snapshot.
 */
export function withRunInput<T>(snapshot: T, input: unknown): T {
  if (!isNode(snapshot)) return snapshot;
  let json: string | undefined;
  const same = (value: unknown): boolean => {
    if (isMarker(value)) return true;
    if (
      !omitsRunInput(input) ||
      typeof value !== typeof input ||
      Array.isArray(value) !== Array.isArray(input)
    )
      return false;
    if (typeof value === 'string') return value === input;
    json ??= JSON.stringify(input);
    return JSON.stringify(value) === json;
  };
  restore(snapshot, input, same);
  return snapshot;
}

function restore(node: Node, input: unknown, same: (value: unknown) => boolean): void {
  const context = node.context;
  if (isNode(context) && 'input' in context && same(context.input)) context.input = input;
  const actorInput = node.input;
  if (isNode(actorInput) && 'input' in actorInput && same(actorInput.input)) actorInput.input = input;
  const children = node.children;
  if (!isNode(children)) return;
  for (const child of Object.values(children))
    if (isNode(child) && isNode(child.snapshot)) restore(child.snapshot, input, same);
}

function isMarker(value: unknown): boolean {
  return isNode(value) && (value as Node)[RUN_INPUT_MARK] === 1;
}
