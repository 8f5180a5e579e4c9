/**
 * Copies of the tables a migration may lose rows or values of, taken in the migration's own transaction (so the
 * copy and the change commit together), and the statements that put those rows back during a revert.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { Snapshot } from './snapshot.js';

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
      `CREATE TABLE ${qualifiedName(BACKUP_SCHEMA, backup)} AS TABLE ${only ? 'ONLY ' : ''}${qualifiedName(snapshot.schema, table)}`,
    );
    backups.push({
      table,
      backup,
      primaryKey: found.primaryKey,
      rows: result.rowCount,
      ...(only ? { only } : {}),
    });
  }
  return backups;
}

/**
 * Puts the backed-up rows back, once the table has its old columns again: a recreated table gets every row; a
 * table with a primary key gets its rows matched on it (deleted, updated, inserted); a table without one is
 * emptied and refilled. Generated columns are left to the database. Returns the rows restored per table.
 */
export async function restoreBackups(
  tx: Database,
  current: Snapshot,
  backups: readonly Backup[],
  recreated: readonly string[],
): Promise<Record<string, number>> {
  const restored: Record<string, number> = {};
  for (const b of backups) {
    const table = current.tables.find((t) => t.name === b.table);
    if (!table) continue;
    const target = qualifiedName(current.schema, b.table);
    // Matched and emptied in the table alone: its children's rows are theirs to restore.
    const own = `${b.only ? 'ONLY ' : ''}${target}`;
    const source = qualifiedName(BACKUP_SCHEMA, b.backup);
    const copied = await tx.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_attribute a
       WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [source],
    );
    const inCopy = new Set(copied.rows.map((r) => r.name));
    const columns = table.columns.filter((c) => c.generated === '' && inCopy.has(c.name)).map((c) => c.name);
    const list = columns.map(quoteIdent).join(', ');
    const insert = (where: string) =>
      `INSERT INTO ${target} (${list}) OVERRIDING SYSTEM VALUE SELECT ${columns.map((c) => `b.${quoteIdent(c)}`).join(', ')} FROM ${source} b${where}`;
    const key = b.primaryKey.filter((c) => columns.includes(c));
    if (recreated.includes(b.table)) {
      restored[b.table] = (await tx.query(insert(''))).rowCount;
    } else if (key.length > 0 && key.length === b.primaryKey.length) {
      const match = key.map((c) => `b.${quoteIdent(c)} = t.${quoteIdent(c)}`).join(' AND ');
      await tx.query(`DELETE FROM ${own} t WHERE NOT EXISTS (SELECT 1 FROM ${source} b WHERE ${match})`);
      // A GENERATED ALWAYS identity can only be set to DEFAULT by an UPDATE (and the migration could not change it).
      const always = new Set(table.columns.filter((c) => c.identity === 'a').map((c) => c.name));
      const rest = columns.filter((c) => !key.includes(c) && !always.has(c));
      if (rest.length > 0) {
        const set = rest.map((c) => `${quoteIdent(c)} = b.${quoteIdent(c)}`).join(', ');
        await tx.query(`UPDATE ${own} t SET ${set} FROM ${source} b WHERE ${match}`);
      }
      await tx.query(insert(` WHERE NOT EXISTS (SELECT 1 FROM ${own} t WHERE ${match})`));
      restored[b.table] = b.rows;
    } else {
      await tx.query(`DELETE FROM ${own}`);
      restored[b.table] = (await tx.query(insert(''))).rowCount;
    }
  }
  return restored;
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
