/**
 * The user's triggers and rules, set back by a revert: one the migration created (or changed) is dropped, one it
 * dropped (or changed) is made again from its definition, and each is left enabled, disabled, `ALWAYS` or `REPLICA`
 * as it was. A table the revert makes again gets all of its own. Only where both snapshots recorded them.
 */
import { quoteIdent } from '../../src/db/index.js';
import type { Snapshot, SnapshotTable } from './snapshot.js';
import type { UndoPlan } from './undo-plan.js';

type Definition = NonNullable<SnapshotTable['triggerDefinitions']>[number];

const STATE: Record<string, string> = {
  O: 'ENABLE',
  D: 'DISABLE',
  A: 'ENABLE ALWAYS',
  R: 'ENABLE REPLICA',
};

/** Adds to `plan` what sets the triggers and rules of `before`'s tables back; `rel` qualifies a table's name. */
export function undoTriggers(
  plan: UndoPlan,
  current: Snapshot,
  before: Snapshot,
  rel: (name: string) => string,
): void {
  const now = new Map(current.tables.map((t) => [t.name, t]));
  for (const old of before.tables) {
    const table = now.get(old.name);
    if (!old.triggerDefinitions || (table && !table.triggerDefinitions)) continue;
    const key = (d: Definition) => `${d.kind} ${d.name}`;
    const thenDefs = new Map(old.triggerDefinitions.map((d) => [key(d), d]));
    const nowDefs = new Map((table?.triggerDefinitions ?? []).map((d) => [key(d), d]));
    const drop = (d: Definition) =>
      `DROP ${d.kind === 'rule' ? 'RULE' : 'TRIGGER'} ${quoteIdent(d.name)} ON ${rel(old.name)}`;
    for (const [k, d] of nowDefs) if (thenDefs.get(k)?.definition !== d.definition) plan.drop.push(drop(d));
    for (const [k, d] of thenDefs) {
      const was = nowDefs.get(k);
      // A definition that names its table unqualified is read in the revert's search path (the schema's first).
      if (was?.definition !== d.definition) plan.finish.push(d.definition.replace(/;\s*$/, ''));
      if ((was?.definition !== d.definition ? 'O' : was?.enabled) !== d.enabled) {
        const state = STATE[d.enabled];
        if (state)
          plan.finish.push(
            `ALTER TABLE ONLY ${rel(old.name)} ${state} ${d.kind === 'rule' ? 'RULE' : 'TRIGGER'} ${quoteIdent(d.name)}`,
          );
      }
    }
  }
}
