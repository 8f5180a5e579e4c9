/**
 * A revert's sequences: one the migration created is dropped, one it dropped (alone, or with the table or column
 * that owned it) is made again before the tables whose defaults call it, one it altered gets its options and owner
 * back, and a sequence left behind its recorded position is moved forward to it.
 *
 * A position is only ever moved forward: values handed out since the snapshot (by the application, while the
 * migration ran) may be in rows now, and moving back would hand them out again. That is also why it is safe:
 * `setval` is not transactional, so it stays even when the revert rolls back, and a sequence moved forward only
 * skips values.
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { Snapshot } from './snapshot.js';
import { isBehind, type Sequence } from './snapshot-sequences.js';
import { byName, type UndoPlan } from './undo-plan.js';

/** The options of `CREATE` / `ALTER SEQUENCE`, as the snapshot recorded them. */
function options(s: Sequence): string {
  return `AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} START WITH ${s.start} CACHE ${s.cache} ${s.cycle ? 'CYCLE' : 'NO CYCLE'}`;
}

const sameOptions = (a: Sequence, b: Sequence) => options(a) === options(b);
const sameOwner = (a: Sequence, b: Sequence) =>
  a.ownedBy?.table === b.ownedBy?.table && a.ownedBy?.column === b.ownedBy?.column;

/** Adds to `plan` what sets the sequences of `before` back. Only where both snapshots recorded them. */
export function undoSequences(plan: UndoPlan, current: Snapshot, before: Snapshot): void {
  if (!current.sequences || !before.sequences) return;
  const schema = before.schema;
  const rel = (name: string) => qualifiedName(schema, name);
  const literal = (name: string) => `'${rel(name).replaceAll("'", "''")}'`;
  const now = byName(current.sequences);
  const then = byName(before.sequences);
  const setval = (s: Sequence) =>
    s.position ? [`SELECT setval(${literal(s.name)}, ${s.position.lastValue}, ${s.position.isCalled})`] : [];
  const owner = (s: Sequence) =>
    `ALTER SEQUENCE ${rel(s.name)} OWNED BY ${s.ownedBy ? `${rel(s.ownedBy.table)}.${quoteIdent(s.ownedBy.column)}` : 'NONE'}`;
  // Made before the tables are (`create` starts with them): a default of a table made again calls it.
  const made = before.sequences.filter((s) => !now.has(s.name));
  plan.create.unshift(...made.map((s) => `CREATE SEQUENCE ${rel(s.name)} ${options(s)}`));
  for (const s of made) plan.finish.push(...(s.ownedBy ? [owner(s)] : []), ...setval(s));
  for (const s of before.sequences) {
    const was = now.get(s.name);
    if (!was) continue;
    if (!sameOptions(s, was)) plan.finish.push(`ALTER SEQUENCE ${rel(s.name)} ${options(s)}`);
    // The owning column is back by `finish` (made again in `create`).
    if (!sameOwner(s, was)) plan.finish.push(owner(s));
    if (isBehind(s, was)) plan.finish.push(...setval(s));
  }
  // Last: a default the revert sets back may still call it until then. One owned by a column the revert dropped
  // went with it.
  for (const s of current.sequences)
    if (!then.has(s.name)) plan.finish.push(`DROP SEQUENCE IF EXISTS ${rel(s.name)}`);
}
