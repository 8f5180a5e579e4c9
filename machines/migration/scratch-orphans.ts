/**
 * Rows of the dry run's copy that break a NOT VALID foreign key. On the target such a row (an order line whose order
 * is gone, kept when the key was added NOT VALID) can be updated as long as its key stays the same: PostgreSQL checks
 * the key on an update only when it changes. But it checks it on any update of a row inserted by the current
 * transaction, and the copy's rows are all the dry run's own: updating one failed the dry run, never the target.
 * Where the copy holds such rows, the key's update check is turned off in the copy (its insert check stays on).
 * That needs a superuser (the check is a system trigger); for another role the copy stays as it was, and such a
 * migration fails its dry run as before. The target's keys are never touched.
 */
import { type Database, quoteIdent } from '../../src/db/index.js';

interface NotValidKey {
  /** The referencing table, qualified: a copy's, never the target's. */
  readonly table: string;
  /** The referenced table, as `regclass` prints it (only read). */
  readonly references: string;
  /** Whether the referenced table is partitioned (its rows are its partitions'). */
  readonly partitioned: boolean;
  readonly columns: string[];
  readonly referenced: string[];
  /** `f` for MATCH FULL, where a key with some columns null breaks the key too. */
  readonly match: string;
  readonly trigger: string;
}

/** Turns off the update check of each NOT VALID foreign key of `scratch` that the copy's rows break. */
export async function uncheckOrphanUpdates(tx: Database, scratch: string): Promise<void> {
  // A partitioned table's key is checked by its partitions' copies of it: each has the trigger of its own.
  const { rows } = await tx.query<NotValidKey>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS "table", k.confrelid::regclass::text AS "references",
            r.relkind = 'p' AS partitioned, k.confmatchtype::text AS match, t.tgname AS trigger,
            ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                  JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) AS referenced
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class r ON r.oid = k.confrelid
       JOIN pg_trigger t ON t.tgconstraint = k.oid AND t.tgrelid = k.conrelid
                        AND t.tgfoid = 'pg_catalog."RI_FKey_check_upd"'::regproc
      WHERE n.nspname = $1 AND k.contype = 'f' AND NOT k.convalidated
      ORDER BY k.oid`,
    [scratch],
  );
  for (const key of rows) {
    await tx.query('SAVEPOINT flowstate_orphans');
    try {
      if (!(await broken(tx, key))) continue;
      await tx.query(`ALTER TABLE ${key.table} DISABLE TRIGGER ${quoteIdent(key.trigger)}`);
    } catch {
      // Not a superuser: the check stays on.
      await tx.query('ROLLBACK TO SAVEPOINT flowstate_orphans');
    } finally {
      await tx.query('RELEASE SAVEPOINT flowstate_orphans');
    }
  }
}

/** Whether a row of the key's table breaks it, as PostgreSQL's own check reads it (MATCH SIMPLE or FULL). */
async function broken(tx: Database, key: NotValidKey): Promise<boolean> {
  const mine = key.columns.map((c) => `c.${quoteIdent(c)}`);
  const match = key.referenced.map((r, i) => `p.${quoteIdent(r)} = ${mine[i]}`).join(' AND ');
  const target = `${key.partitioned ? '' : 'ONLY '}${key.references}`;
  const orphan = `${mine.map((c) => `${c} IS NOT NULL`).join(' AND ')} AND NOT EXISTS (SELECT 1 FROM ${target} p WHERE ${match})`;
  const partlyNull =
    key.match === 'f' && mine.length > 1
      ? ` OR num_nulls(${mine.join(', ')}) BETWEEN 1 AND ${mine.length - 1}`
      : '';
  const { rows } = await tx.query<{ broken: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ONLY ${key.table} c WHERE (${orphan})${partlyNull}) AS broken`,
  );
  return rows[0]?.broken === true;
}
