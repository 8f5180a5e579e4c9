import {
  type MapActorInput,
  type MapState,
  mapInputsKey,
  mapItemOfKey,
  type PersistedMap,
} from './map-types.js';
import type { JournaledOutput, StepJournal } from './step-logic.js';
import type { StepEvent } from './step-types.js';

// What a map on a store leaves in the journal rather than in its checkpoints, and how it is read back.

/** Whether a stored map left something in the journal (its ended items' results, or its inputs) to read back. */
export function mapNeedsJournal(p: PersistedMap): boolean {
  return (p.results === undefined && p.kept !== undefined) || (p.inputsJournaled === true && !p.input.inputs);
}

/**
 * A stored map with what it left in the journal put back: its items' inputs and its results in item order, as a
 * snapshot that carried them had them. An ended item's result is its kept value if it has one (an escalation's),
 * else the output journaled under its key in this round (the highest attempt's: an item's output is journaled once,
 * by the attempt that ended it), else `null` when it was skipped. A done item whose output is in neither place
 * means the journal lost it: the run cannot go on with the right results, so it throws.
 */
export function mapFromJournal(p: PersistedMap, entries: readonly JournaledOutput[]): PersistedMap {
  const input = p.input as MapActorInput;
  let inputs = p.input.inputs;
  const found = new Map<number, { attempt: number; output: unknown }>();
  const inputsKey = mapInputsKey(input);
  for (const entry of entries) {
    if (entry.key === inputsKey) {
      inputs ??= entry.output as readonly unknown[];
      continue;
    }
    const item = mapItemOfKey(input, entry.key);
    if (!item) continue;
    const seen = found.get(item.index);
    if (!seen || seen.attempt < item.attempt)
      found.set(item.index, { attempt: item.attempt, output: entry.output });
  }
  if (!Array.isArray(inputs)) throw new Error(`The inputs of map '${p.input.path}' are not in the journal`);
  if (p.results !== undefined || p.kept === undefined) return { ...p, input: { ...p.input, inputs } };
  if (p.status === 'done' && Array.isArray(p.output))
    return { ...p, input: { ...p.input, inputs }, results: p.output };
  const results: unknown[] = new Array<unknown>(inputs.length).fill(null);
  const skipped = new Set(p.skipped);
  const running = new Set(Object.keys(p.children));
  const name = p.input.path.slice(p.input.path.lastIndexOf('/') + 1);
  for (let index = 0; index < p.next; index++) {
    if (skipped.has(index) || running.has(`${name}[${index}]`)) continue;
    const key = String(index);
    if (Object.hasOwn(p.kept, key)) results[index] = p.kept[key];
    else if (found.has(index)) results[index] = found.get(index)?.output;
    // A map that failed or was stopped is not run on: what it lost is not needed (its items' compensations read
    // the results the machine kept when its state was left).
    else if (p.status === 'active')
      throw new Error(`The result of item ${index} of map '${p.input.path}' is not in the journal`);
  }
  return { ...p, input: { ...p.input, inputs }, results };
}

/** Whether an item's event is its attempt's output (journaled under the attempt's key before it was sent). */
export function settledOk(event: StepEvent): boolean {
  return event.type === 'flowstate.step.settled' && event.ok;
}

/**
 * Commits the items' inputs to the journal (once per map and round: a key keeps its first value); the snapshots
 * taken after the commit leave them out. Never resolves for a run this engine no longer owns: they stay in.
 */
export function journalInputs(journal: StepJournal, state: MapState): void {
  const { input } = state;
  journal
    .put(mapInputsKey(input), {
      runId: input.workflowId,
      stepPath: input.path,
      attempt: 0,
      output: input.inputs,
    })
    .then(
      () => {
        state.inputsJournaled = true;
      },
      // Not committed: the inputs stay in the snapshot, as they were.
      () => {},
    );
}

/**
 * The results a restored map keeps in its snapshot: as stored (`kept`), or, from a snapshot written with every
 * result (an older Flowstate), every done item's, since which of them are journaled is not known.
 */
export function keptOf(p: PersistedMap): Map<number, unknown> {
  if (p.kept) return new Map(Object.entries(p.kept).map(([index, value]) => [Number(index), value]));
  const kept = new Map<number, unknown>();
  const results = p.results ?? [];
  const skipped = new Set(p.skipped);
  const running = new Set(Object.keys(p.children).map((id) => Number(/\[(\d+)\]$/.exec(id)?.[1])));
  for (let i = 0; i < p.next; i++) if (!skipped.has(i) && !running.has(i)) kept.set(i, results[i]);
  return kept;
}
