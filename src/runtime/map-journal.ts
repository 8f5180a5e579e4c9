import { mapFromJournal, mapNeedsJournal } from '../machine/map-journaled.js';
import { isPersistedMap } from '../machine/map-types.js';
import type { StepJournal } from '../machine/step-logic.js';

/** A persisted actor snapshot as far as this walk reads it: its children's snapshots. */
interface PersistedNode {
  children?: Record<string, { snapshot?: unknown } | undefined>;
}

/**
 * Puts back, in a stored run's parsed snapshot, what its maps left in the journal (their ended items' results and
 * their inputs), so XState restores each map as it was: one journal read per map (every entry under its path),
 * never one per item. Maps in child workflows included. Changes `snapshot` in place (it was just parsed).
 */
export async function restoreMapsFromJournal(snapshot: unknown, journal: StepJournal): Promise<void> {
  const pending: Array<Promise<void>> = [];
  const walk = (node: PersistedNode) => {
    for (const child of Object.values(node.children ?? {})) {
      const s = child?.snapshot;
      if (typeof s !== 'object' || s === null) continue;
      if (isPersistedMap(s)) {
        if (!mapNeedsJournal(s)) continue;
        if (!journal.list) throw new Error(`Map '${s.input.path}' needs a store that lists its journal`);
        const { workflowId, path } = s.input;
        pending.push(
          journal.list(workflowId, path).then((entries) => {
            (child as { snapshot: unknown }).snapshot = mapFromJournal(s, entries);
          }),
        );
      } else walk(s as PersistedNode);
    }
  };
  if (typeof snapshot === 'object' && snapshot !== null) walk(snapshot as PersistedNode);
  await Promise.all(pending);
}
