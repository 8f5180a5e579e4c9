/**
 * Making the type copies in the dry run's schema, and the copied rows pointed at them: each copy in a savepoint (one
 * that cannot be made stays the target's), the domains' `NOT VALID` CHECKs once the rows are in, and the select list
 * that casts a column to its copied type.
 */
import { type Database, quoteIdent } from '../../src/db/index.js';
import type { TypeCopy } from './scratch-types-read.js';

/**
 * Makes the copies in `scratch` (its search path first, then the target's), each in a savepoint: one whose copy
 * cannot be made is left out (its columns keep the target's type) and added to the uncopied. Returns the uncopied.
 */
export async function createTypeCopies(
  tx: Database,
  copy: TypeCopy,
  scratch: string,
): Promise<Map<string, string>> {
  const uncopied = new Map(copy.uncopied);
  for (const t of copy.types) {
    // Qualified: an unqualified name would find the target's type if the copy were not there.
    const create = t.create.map((sql) =>
      sql.replace(/^(CREATE TYPE|CREATE DOMAIN|ALTER DOMAIN) /, `$1 ${scratch}.`),
    );
    await tx
      .transaction(async (sp) => {
        for (const sql of create) await sp.query(sql);
      })
      .catch((error: unknown) => {
        uncopied.set(
          t.name,
          `its copy could not be made (${error instanceof Error ? error.message : String(error)})`,
        );
      });
  }
  return uncopied;
}

/** Once the rows are copied: each copied domain's `NOT VALID` CHECKs (they stay so). */
export async function finishTypeCopies(
  tx: Database,
  copy: TypeCopy,
  scratch: string,
  uncopied: ReadonlyMap<string, string>,
): Promise<void> {
  for (const t of copy.types) {
    if (uncopied.has(t.name)) continue;
    for (const sql of t.notValid) await tx.query(sql.replace(/^ALTER DOMAIN /, `ALTER DOMAIN ${scratch}.`));
  }
}

/**
 * SQL: the select list copying the rows of `live`'s table into the copy's (every column but generated ones, named
 * as `columns` names them): a column whose type in the copy is not the target's (a copied type, an array of one) is
 * cast through its text, which every type reads back.
 */
export async function copiedColumns(
  tx: Database,
  live: string,
  scratch: string,
): Promise<Map<string, { columns: string[]; values: string[] }>> {
  const { rows } = await tx.query<{ table: string; name: string; type: string | null }>(
    `SELECT c.relname AS "table", a.attname AS name,
            CASE WHEN sa.atttypid <> a.atttypid THEN format_type(sa.atttypid, sa.atttypmod) END AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class sc ON sc.relname = c.relname AND sc.relnamespace = $2::regnamespace
       JOIN pg_attribute sa ON sa.attrelid = sc.oid AND sa.attname = a.attname AND sa.attnum > 0 AND NOT sa.attisdropped
      WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`,
    [live, scratch],
  );
  const out = new Map<string, { columns: string[]; values: string[] }>();
  for (const r of rows) {
    const entry = out.get(r.table) ?? { columns: [], values: [] };
    out.set(r.table, entry);
    const column = quoteIdent(r.name);
    entry.columns.push(column);
    // Printed with the copy first on the search path: the name finds the copy's type.
    entry.values.push(r.type === null ? column : `${column}::text::${r.type}`);
  }
  return out;
}
