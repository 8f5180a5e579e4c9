/**
 * How a revert keeps constraints between the rows it puts back from failing the restore. A migration that deleted
 * order lines and then their orders, inserted an order and moved a line to it, or re-parented a node of a tree leaves
 * rows that only a whole restore makes consistent again: at each statement in between, a foreign key that is not
 * deferrable would refuse it. The foreign keys from or to the restored tables are checked at the restore's end
 * instead: made `DEFERRABLE INITIALLY DEFERRED` for it and set back exactly after, in the revert's transaction (by
 * `ALTER`, never `SET CONSTRAINTS name`, which reaches every constraint of that name in the schema). Where the role
 * may not alter them, the rows are put back in an order the keys allow.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';

interface ForeignKey {
  readonly table: string;
  readonly name: string;
  readonly references: string;
  readonly deferrable: boolean;
  readonly deferred: boolean;
}

/**
 * The foreign keys of `schema` from or to one of `tables`, a table's keys to itself included (a partition's copies
 * of its parent's key left out: they follow it).
 */
async function foreignKeys(tx: Database, schema: string, tables: readonly string[]): Promise<ForeignKey[]> {
  const { rows } = await tx.query<ForeignKey>(
    `SELECT c.relname::text AS "table", k.conname::text AS name, p.relname::text AS "references",
            k.condeferrable AS deferrable, k.condeferred AS deferred
     FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
     JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
     WHERE k.contype = 'f' AND k.conparentid = 0 AND cn.nspname = $1 AND pn.nspname = $1
       AND (c.relname = ANY($2::text[]) OR p.relname = ANY($2::text[]))
     ORDER BY 1, 2`,
    [schema, [...tables]],
  );
  return rows;
}

/**
 * `tables` with every table after the tables it references (among `tables`), otherwise in their given order; tables
 * in a cycle of references keep their given order after the others.
 */
export function referencedFirst(
  tables: readonly string[],
  keys: ReadonlyArray<Pick<ForeignKey, 'table' | 'references'>>,
): string[] {
  const among = new Set(tables);
  const needs = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const k of keys)
    if (among.has(k.table) && among.has(k.references) && k.table !== k.references)
      needs.get(k.table)?.add(k.references);
  const out: string[] = [];
  const placed = new Set<string>();
  for (let progress = true; progress; ) {
    progress = false;
    for (const t of tables) {
      if (placed.has(t) || [...(needs.get(t) ?? [])].some((n) => !placed.has(n))) continue;
      out.push(t);
      placed.add(t);
      progress = true;
    }
  }
  for (const t of tables) if (!placed.has(t)) out.push(t);
  return out;
}

/**
 * Runs `restore` with the foreign keys from or to `tables` checked once, at its end: `restore(undefined)`. Where they
 * cannot be deferred (the role does not own a table), runs `restore(order)` with the tables referenced first, for a
 * restore that goes in steps the keys allow. Every deferred check of the transaction (the user's own deferred keys
 * and unique constraints too) runs here at the end: a trigger cannot be altered while checks are pending, and a row
 * the restore leaves breaking a key fails here.
 */
export async function withForeignKeysChecked<T>(
  tx: Database,
  schema: string,
  tables: readonly string[],
  restore: (order: readonly string[] | undefined) => Promise<T>,
): Promise<T> {
  const keys = tables.length > 0 ? await foreignKeys(tx, schema, tables) : [];
  const alter = (k: ForeignKey, mode: string) =>
    `ALTER TABLE ${qualifiedName(schema, k.table)} ALTER CONSTRAINT ${quoteIdent(k.name)} ${mode}`;
  const altered = keys.filter((k) => !k.deferred);
  if (altered.length > 0) {
    await tx.query('SAVEPOINT flowstate_keys_deferred');
    try {
      for (const k of altered) await tx.query(alter(k, 'DEFERRABLE INITIALLY DEFERRED'));
    } catch {
      await tx.query('ROLLBACK TO SAVEPOINT flowstate_keys_deferred');
      const result = await restore(referencedFirst(tables, keys));
      await tx.query('SET CONSTRAINTS ALL IMMEDIATE');
      return result;
    }
  }
  const result = await restore(undefined);
  await tx.query('SET CONSTRAINTS ALL IMMEDIATE');
  // Set back as they were (no check pending now: a key cannot be altered while one is).
  for (const k of altered)
    await tx.query(alter(k, k.deferrable ? 'DEFERRABLE INITIALLY IMMEDIATE' : 'NOT DEFERRABLE'));
  return result;
}
