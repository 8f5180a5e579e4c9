/**
 * Copies of the tables a migration may lose rows or values of, taken in the migration's own transaction (so the
 * copy and the change commit together), and the statements that put those rows back during a revert.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { deleteChangedRows, updateOrReplace } from './restore-collisions.js';
import { withForeignKeysChecked } from './restore-order.js';
import { withTriggersOff } from './restore-triggers.js';
import { type Snapshot, type SnapshotTable, withDescendants } from './snapshot.js';

/** Where backups live: outside the migrated schema, so they never show in its snapshots. */
const BACKUP_SCHEMA = 'flowstate_backup';

/** One backed-up table. */
export const BackupSchema = z.object({
  table: z.string(),
  /** The copy's name in {@link BACKUP_SCHEMA}. */
  backup: z.string(),
  /** The table's primary key when it was copied: rows are matched on it when the table still exists. */
  primaryKey: z.array(z.string()),
  rows: z.number(),
  /**
   * The table's own rows only, without its inheritance children's (which have backups of their own), matched and
   * restored in it alone. Absent in backups taken before it was recorded (and for a partitioned table, whose rows
   * are all its partitions').
   */
  only: z.boolean().optional(),
});
/** One backed-up table. */
export type Backup = z.infer<typeof BackupSchema>;

/** A short, stable prefix for one run's backups, so two runs never share a copy. */
export function backupPrefix(runId: string): string {
  return `m${createHash('sha256').update(runId).digest('hex').slice(0, 10)}`;
}

/**
 * Copies each table (which must be in `snapshot`) into the backup schema, and its inheritance children: a statement
 * on a parent reaches their rows too, and a copy of the parent's rows through it would restore theirs into the
 * parent. A table that is not partitioned is copied alone (`ONLY`).
 */
export async function backupTables(
  tx: Database,
  snapshot: Snapshot,
  named: readonly string[],
  prefix: string,
): Promise<Backup[]> {
  if (named.length === 0) return [];
  const tables = [...named];
  for (const table of tables) {
    for (const child of snapshot.tables)
      if (child.inherits?.includes(table) && !tables.includes(child.name)) tables.push(child.name);
  }
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(BACKUP_SCHEMA)}`);
  const backups: Backup[] = [];
  for (const [i, table] of tables.entries()) {
    const found = snapshot.tables.find((t) => t.name === table);
    if (!found) continue;
    const only = found.partitionKey === null;
    // Byte-safe truncation: the copy's name must stay within PostgreSQL's 63 bytes.
    const backup = `${prefix}_${i}_${Buffer.from(table)
      .subarray(0, 40)
      .toString('utf8')
      .replace(/\uFFFD+$/, '')}`;
    const result = await tx.query(
      `CREATE TABLE ${qualifiedName(BACKUP_SCHEMA, backup)} AS SELECT ${await backupColumns(tx, snapshot.schema, table)} FROM ${only ? 'ONLY ' : ''}${qualifiedName(snapshot.schema, table)}`,
    );
    // PGlite tells no row count for CREATE TABLE AS: counted then (an empty copy is counted at once anyway).
    const rows =
      result.rowCount ||
      Number(
        (
          await tx.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${qualifiedName(BACKUP_SCHEMA, backup)}`,
          )
        ).rows[0]?.n ?? 0,
      );
    backups.push({
      table,
      backup,
      primaryKey: found.primaryKey,
      rows,
      ...(only ? { only } : {}),
    });
  }
  return backups;
}

/**
 * The select list of a table's backup: its columns in order, a column of a type that is not PostgreSQL's own (an
 * enum, a domain, a composite or range type, an extension's type, an array of one) as its text. A backup must not
 * depend on a type the migration may drop: `DROP TYPE ... CASCADE` drops every column of the type, the backup's
 * too, and without CASCADE the backup's column makes the DROP fail where the target would not. Every type prints
 * as text and reads back from it; the restore casts the text back to the column's type (`restoredSource`).
 */
async function backupColumns(tx: Database, schema: string, table: string): Promise<string> {
  const { rows } = await tx.query<{ name: string; own: boolean }>(
    `SELECT a.attname AS name, t.typnamespace = 'pg_catalog'::regnamespace AS own
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [qualifiedName(schema, table)],
  );
  if (rows.length === 0) return '*';
  return rows
    .map((c) => (c.own ? quoteIdent(c.name) : `${quoteIdent(c.name)}::text AS ${quoteIdent(c.name)}`))
    .join(', ');
}

/**
 * The backup as the restore reads it: the backup table itself, or a subquery casting back to the table's current
 * types the columns stored as text that are not text in the table (see {@link backupColumns}); `b0` inside.
 */
async function restoredSource(tx: Database, backup: string, target: string): Promise<string> {
  const { rows } = await tx.query<{ name: string; type: string | null; text: boolean }>(
    `SELECT a.attname AS name, a.atttypid = 'text'::regtype AS text,
            (SELECT format_type(t.atttypid, t.atttypmod) FROM pg_attribute t
              WHERE t.attrelid = to_regclass($2) AND t.attname = a.attname AND t.attnum > 0 AND NOT t.attisdropped
                AND t.atttypid <> 'text'::regtype) AS type
       FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [backup, target],
  );
  if (!rows.some((c) => c.text && c.type !== null)) return backup;
  const list = rows.map((c) =>
    c.text && c.type !== null
      ? `b0.${quoteIdent(c.name)}::${c.type} AS ${quoteIdent(c.name)}`
      : `b0.${quoteIdent(c.name)}`,
  );
  return `(SELECT ${list.join(', ')} FROM ${backup} b0)`;
}

/**
 * Puts the backed-up rows back, once the tables have their old columns again: a recreated table gets every row; a
 * table with a primary key gets its rows matched on it (deleted, updated, inserted); a table without one is
 * emptied and refilled. Foreign keys between them are checked at the end (`withForeignKeysChecked`), and the user's
 * triggers and rules are off meanwhile (`withTriggersOff`). Generated columns are left to the
 * database. Returns the rows restored per table.
 */
export async function restoreBackups(
  tx: Database,
  current: Snapshot,
  backups: readonly Backup[],
  recreated: readonly string[],
): Promise<Record<string, number>> {
  const restores = new Map<string, TableRestore>();
  for (const b of backups) {
    if (restores.has(b.table) || !current.tables.some((t) => t.name === b.table)) continue;
    restores.set(b.table, await restoreOf(tx, current, b, recreated));
  }
  const tables = [...restores.keys()];
  const restored: Record<string, number> = {};
  const put = async (r: TableRestore) => {
    const inserted = (await tx.query(r.insert)).rowCount;
    restored[r.table] = r.rows ?? inserted;
  };
  const run = async (sql: string | undefined) => {
    if (sql) await tx.query(sql);
  };
  // An UPDATE that collides under a unique constraint (values swapped between rows) replaces those rows instead.
  const update = (r: TableRestore) => updateOrReplace(tx, current.schema, r.table, r);
  // Rows put back into a partitioned table or a parent run the triggers of its partitions and children too.
  await withTriggersOff(tx, current.schema, withDescendants(current, tables), () =>
    withForeignKeysChecked(tx, current.schema, tables, async (order) => {
      if (!order) {
        // The keys are checked at the end: each table's rows as they were, one table after another.
        for (const r of restores.values()) {
          await run(r.clear);
          await run(r.removeExtra);
          await update(r);
          await put(r);
        }
        return;
      }
      // In steps the keys allow: rows the backups lack leave referencing tables first, after rows put back into
      // referenced tables first are there for the updates to point at.
      const ordered = order.map((t) => restores.get(t) as TableRestore);
      for (const r of [...ordered].reverse()) await run(r.clear);
      for (const r of ordered) await put(r);
      for (const r of ordered) await update(r);
      for (const r of [...ordered].reverse()) await run(r.removeExtra);
    }),
  );
  return restored;
}

/** The statements that put one table's rows back. */
interface TableRestore {
  readonly table: string;
  /** Empties a table without a primary key (refilled whole by `insert`). */
  readonly clear?: string;
  /** Removes the rows the backup does not have (matched on the primary key). */
  readonly removeExtra?: string;
  /** Sets the rows the backup has back to its values. */
  readonly update?: string;
  /** Deletes the rows the backup has with other values, for `insert` to put back (when `update` collides). */
  readonly deleteChanged?: string;
  /** Inserts the backup's rows the table lacks. */
  readonly insert: string;
  /** How many rows are restored, when not what `insert` inserted (a table matched on its key: all of its rows). */
  readonly rows?: number;
}

async function restoreOf(
  tx: Database,
  current: Snapshot,
  b: Backup,
  recreated: readonly string[],
): Promise<TableRestore> {
  const table = current.tables.find((t) => t.name === b.table) as SnapshotTable;
  const target = qualifiedName(current.schema, b.table);
  // Matched and emptied in the table alone: its children's rows are theirs to restore.
  const own = `${b.only ? 'ONLY ' : ''}${target}`;
  const stored = qualifiedName(BACKUP_SCHEMA, b.backup);
  const copied = await tx.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_attribute a
     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [stored],
  );
  // Columns of the schema's own types are stored as text: cast back to what the table has now.
  const source = await restoredSource(tx, stored, target);
  const inCopy = new Set(copied.rows.map((r) => r.name));
  const columns = table.columns.filter((c) => c.generated === '' && inCopy.has(c.name)).map((c) => c.name);
  const list = columns.map(quoteIdent).join(', ');
  const insert = (where: string) =>
    `INSERT INTO ${target} (${list}) OVERRIDING SYSTEM VALUE SELECT ${columns.map((c) => `b.${quoteIdent(c)}`).join(', ')} FROM ${source} b${where}`;
  if (recreated.includes(b.table)) return { table: b.table, insert: insert('') };
  // Without a primary key, rows are matched on a unique key of NOT NULL columns if the table has one: a table a
  // foreign key references has one, and emptying it would run the keys' ON DELETE actions (CASCADE, SET NULL) over
  // rows the migration never touched.
  const matchOn =
    b.primaryKey.length > 0
      ? b.primaryKey
      : await uniqueKeyOf(tx, target, (c) => columns.includes(c) && inCopy.has(c));
  const key = matchOn.filter((c) => columns.includes(c));
  if (key.length === 0 || key.length !== matchOn.length)
    return { table: b.table, clear: `DELETE FROM ${own}`, insert: insert('') };
  const match = key.map((c) => `b.${quoteIdent(c)} = t.${quoteIdent(c)}`).join(' AND ');
  // A GENERATED ALWAYS identity can only be set to DEFAULT by an UPDATE (and the migration could not change it).
  const always = new Set(table.columns.filter((c) => c.identity === 'a').map((c) => c.name));
  const rest = columns.filter((c) => !key.includes(c) && !always.has(c));
  const deleteChanged = deleteChangedRows(own, source, match, rest);
  return {
    table: b.table,
    ...(deleteChanged ? { deleteChanged } : {}),
    removeExtra: `DELETE FROM ${own} t WHERE NOT EXISTS (SELECT 1 FROM ${source} b WHERE ${match})`,
    ...(rest.length > 0
      ? {
          update: `UPDATE ${own} t SET ${rest.map((c) => `${quoteIdent(c)} = b.${quoteIdent(c)}`).join(', ')} FROM ${source} b WHERE ${match}`,
        }
      : {}),
    insert: insert(` WHERE NOT EXISTS (SELECT 1 FROM ${own} t WHERE ${match})`),
    rows: b.rows,
  };
}

/** The columns of the table's narrowest unique key over NOT NULL columns that `usable` accepts, or none. */
async function uniqueKeyOf(
  tx: Database,
  table: string,
  usable: (column: string) => boolean,
): Promise<string[]> {
  const { rows } = await tx.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY u.ord) AS columns
     FROM pg_index x CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY u(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum
     WHERE x.indrelid = to_regclass($1) AND x.indisunique AND x.indisvalid AND x.indpred IS NULL
       AND x.indexprs IS NULL
     GROUP BY x.indexrelid HAVING bool_and(a.attnotnull)
     ORDER BY count(*), x.indexrelid`,
    [table],
  );
  return rows.map((r) => r.columns).find((columns) => columns.every(usable)) ?? [];
}

/** Drops the backups (and the backup schema once it is empty). */
export async function dropBackups(db: Database, backups: readonly Backup[]): Promise<void> {
  for (const b of backups) await db.query(`DROP TABLE IF EXISTS ${qualifiedName(BACKUP_SCHEMA, b.backup)}`);
  if (backups.length === 0) return;
  const left = await db.query(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 LIMIT 1`,
    [BACKUP_SCHEMA],
  );
  if (left.rowCount === 0) await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(BACKUP_SCHEMA)}`);
}
