import { type MapActorInput, mapInputsKey, mapItemOfKey, type PersistedMap } from './map-types.js';
import type { JournaledOutput } from './step-logic.js';

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
