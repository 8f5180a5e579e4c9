/**
 * A revert's enum types: a type the migration dropped is made again (before the columns of it), one it created is
 * dropped (after them), and labels it renamed (`RENAME VALUE`, a catalog-only change) are renamed back. A label it
 * added (`ADD VALUE`) cannot be dropped: see `lint-irreversible.ts` for why, and for how the template treats it (an
 * approval up front; a revert that fails, changing nothing, and says why).
 */
import { qualifiedName } from '../../src/db/index.js';
import type { Snapshot } from './snapshot.js';
import { addedLabels, type Enum } from './snapshot-enums.js';
import { byName, type UndoPlan } from './undo-plan.js';

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Adds to `plan` what sets the enum types of `before` back. Only where both snapshots recorded them. */
export function undoEnums(plan: UndoPlan, current: Snapshot, before: Snapshot): void {
  if (!current.enums || !before.enums) return;
  const rel = (name: string) => qualifiedName(before.schema, name);
  const now = byName(current.enums);
  const then = byName(before.enums);
  plan.create.unshift(
    ...before.enums
      .filter((e) => !now.has(e.name))
      .map((e) => `CREATE TYPE ${rel(e.name)} AS ENUM (${e.labels.map(literal).join(', ')})`),
  );
  for (const old of before.enums) {
    const type = now.get(old.name);
    if (type) plan.create.push(...renamesBack(rel(old.name), type, old));
  }
  // After the columns of it are dropped or retyped (`drop` and `finish` above).
  for (const e of current.enums)
    if (!then.has(e.name)) plan.finish.push(`DROP TYPE IF EXISTS ${rel(e.name)}`);
}

/**
 * `RENAME VALUE` statements giving each label of `now` at a position `then` has the name it had there. Renamed
 * through a temporary name when the old name is taken (two labels swapped), so no rename collides.
 */
function renamesBack(type: string, now: Enum, then: Enum): string[] {
  const at = new Map(now.orders.map((o, i) => [o, now.labels[i] as string]));
  const renames = then.orders.flatMap((o, i) => {
    const from = at.get(o);
    const to = then.labels[i] as string;
    return from !== undefined && from !== to ? [{ from, to }] : [];
  });
  const rename = (from: string, to: string) =>
    `ALTER TYPE ${type} RENAME VALUE ${literal(from)} TO ${literal(to)}`;
  const taken = new Set(now.labels);
  if (renames.every((r) => !taken.has(r.to))) return renames.map((r) => rename(r.from, r.to));
  const temporary = (i: number) => `flowstate_revert_${i}`;
  return [
    ...renames.map((r, i) => rename(r.from, temporary(i))),
    ...renames.map((r, i) => rename(temporary(i), r.to)),
  ];
}

/**
 * Why a revert cannot reach `before`, for what no statement can undo: enum labels the migration added. Empty when
 * nothing of that kind is left.
 */
export function irreversibleLeft(
  before: { enums?: readonly Enum[] | undefined },
  after: { enums?: readonly Enum[] | undefined },
): string[] {
  if (!before.enums || !after.enums) return [];
  const now = byName(after.enums);
  return before.enums.flatMap((old) => {
    const type = now.get(old.name);
    const added = type ? addedLabels(old, type) : [];
    return added.length > 0
      ? [
          `enum ${old.name} has label(s) ${added.map(literal).join(', ')} that the migration added: PostgreSQL cannot drop an enum label (only rewriting the type and every column of it could), so the migration cannot be reverted and its changes stay`,
        ]
      : [];
  });
}
