/**
 * The migration plan: the statements and what they do, the schema before, the row counts to keep, the tables to
 * back up and the renames to undo.
 */
import type { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import { ConfigurationError } from '../../src/index.js';
import { defaultSchema, introspect } from '../lib/catalog.js';
import { loadParser, type PgNode, parseSql, strings } from '../lib/pg-parser.js';
import { indexHealth, missingForeignKeyIndexes } from '../schema-analysis/checks.js';
import { tablesOfDroppedTypes } from './backup-types.js';
import { countRows } from './execute.js';
import { type ObjectName, parseMigration, tablesOf } from './parse.js';
import type { Rename } from './revert.js';
import type { MigrationInputSchema, Plan } from './schemas.js';
import { takeSnapshot } from './snapshot.js';

/** Reads the migration and the schema it changes. */
export async function planMigration(
  db: Database,
  input: z.output<typeof MigrationInputSchema>,
): Promise<Plan> {
  const schema = input.schema ?? (await defaultSchema(db));
  const exists = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount === 0) throw new ConfigurationError(`Schema '${schema}' does not exist`);
  const proposal = input.sql === undefined ? await proposeFixes(db, schema) : null;
  const sql = input.sql ?? proposal?.sql ?? '';
  const statements = sql === '' ? [] : await parseMigration(sql);
  if (statements.length === 0 && proposal === null)
    throw new ConfigurationError('The migration has no statement');
  const before = await takeSnapshot(db, schema);
  const inSchema = (name: ObjectName) => name.schema === null || name.schema === schema;
  const touched = new Set<string>();
  const backup = new Set<string>();
  const dataChanged = new Set<string>();
  const renames: Rename[] = [];
  // Tables whose rows a statement deletes, updates or truncates, by their name when written (cascades start there).
  // (By the name they have before the migration: the catalog's, where the cascades are looked up.)
  const rowsWritten = new Map<string, 'update' | 'delete' | 'truncate'>();
  // A table renamed by an earlier statement is backed up and counted under the name it has before the migration.
  const origin = new Map<string, string>();
  const original = (name: string) => origin.get(name) ?? name;
  await loadParser();
  for (const { operation: op, sql: text } of statements) {
    // A type of the schema renamed (an enum, a domain, a composite type): renamed back first by a revert.
    if (op.kind === 'other' && op.statement === 'RenameStmt') renames.push(...typeRenames(text, schema));
    for (const name of tablesOf(op).filter(inSchema)) touched.add(original(name.name));
    if (op.kind === 'drop-table' || op.kind === 'truncate') {
      for (const t of op.tables.filter(inSchema)) backup.add(original(t.name));
    }
    if (op.kind === 'truncate') for (const t of op.tables.filter(inSchema)) dataChanged.add(original(t.name));
    if (op.kind === 'truncate')
      for (const t of op.tables.filter(inSchema)) rowsWritten.set(original(t.name), 'truncate');
    if ((op.kind === 'update' || op.kind === 'delete') && inSchema(op.table))
      rowsWritten.set(
        original(op.table.name),
        rowsWritten.get(original(op.table.name)) === 'truncate' ? 'truncate' : op.kind,
      );
    if ((op.kind === 'insert' || op.kind === 'update' || op.kind === 'delete') && inSchema(op.table)) {
      backup.add(original(op.table.name));
      dataChanged.add(original(op.table.name));
    }
    if (op.kind === 'alter-table' && inSchema(op.table)) {
      const table = op.table.name;
      for (const action of op.actions) {
        if (action.kind === 'drop-column' || action.kind === 'alter-type') backup.add(original(table));
        // Rows join or leave the parent with a partition (or an inheritance child): its count changes on purpose.
        if (action.kind === 'other' && MOVES_ROWS.test(action.text)) dataChanged.add(original(table));
        if (action.kind === 'rename-column') {
          renames.push({ kind: 'column', table, column: action.column, to: action.to });
        }
        if (action.kind === 'rename-table') {
          renames.push({ kind: 'table', table, to: action.to });
          origin.set(action.to, original(table));
          origin.delete(table);
        }
      }
    }
  }
  // Rows a foreign key's ON DELETE / ON UPDATE action (or a TRUNCATE ... CASCADE) changes in other tables go too:
  // backed up, or the revert would bring back the rows named and leave the cascaded ones lost.
  const cascades = await cascadedFrom(db, schema, [...rowsWritten]);
  for (const table of cascades.inSchema) {
    backup.add(table);
    dataChanged.add(table);
  }
  // A type dropped with CASCADE takes its columns with it, in any table: their values are backed up.
  for (const table of await tablesOfDroppedTypes(db, schema, statements)) backup.add(table);
  const existing = before.tables.map((t) => t.name);
  return {
    schema,
    approvedBy: input.approvedBy ?? null,
    keepBackups: input.keepBackups,
    statements,
    before,
    rows: await countRows(db, schema, [...touched], existing),
    // Only tables that exist before can lose anything; a table the migration creates has nothing to save.
    backupTables: [...backup].filter((t) => existing.includes(t)),
    dataChanged: [...dataChanged],
    renames,
    cascadesElsewhere: cascades.elsewhere,
    proposed: proposal !== null && statements.length > 0,
    fixes: proposal?.fixes ?? [],
  };
}

/** The renames of types of `schema` in a statement: `ALTER TYPE s.t RENAME TO u`, `ALTER DOMAIN d RENAME TO e`. */
function typeRenames(sql: string, schema: string): Rename[] {
  return parseSql(sql).flatMap(({ type, node }) => {
    if (type !== 'RenameStmt' || (node.renameType !== 'OBJECT_TYPE' && node.renameType !== 'OBJECT_DOMAIN'))
      return [];
    const object = node.object as PgNode | undefined;
    const names = strings((object?.List as PgNode | undefined)?.items ?? object?.items);
    const name = names.at(-1);
    // Unqualified, it is the migration's schema's (the statements run with it first on the search path).
    if (!name || (names.length > 1 && names.at(-2) !== schema) || typeof node.newname !== 'string') return [];
    return [{ kind: 'type' as const, type: name, to: node.newname }];
  });
}

/** `ALTER TABLE` actions through which rows join or leave a table: `ATTACH`/`DETACH PARTITION`, `[NO] INHERIT`. */
const MOVES_ROWS = /^(AttachPartition|DetachPartition|AddInherit|DropInherit)\b/;

/**
 * The tables of `schema` whose rows change through foreign keys when the rows of `written` do: `ON DELETE` /
 * `ON UPDATE` `CASCADE`, `SET NULL` or `SET DEFAULT` from a deleted or updated table, any reference to a truncated
 * one (`TRUNCATE ... CASCADE` empties them), transitively.
 */
async function cascadedFrom(
  db: Database,
  schema: string,
  written: readonly [string, 'update' | 'delete' | 'truncate'][],
): Promise<{ inSchema: string[]; elsewhere: Plan['cascadesElsewhere'] }> {
  if (written.length === 0) return { inSchema: [], elsewhere: [] };
  const { rows: references } = await db.query<{
    from: string;
    to: string;
    onDelete: string;
    onUpdate: string;
  }>(
    `SELECT c.relname AS "from", r.relname AS "to", k.confdeltype::text AS "onDelete", k.confupdtype::text AS "onUpdate"
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND n.nspname = $1 AND r.relnamespace = c.relnamespace AND c.relkind = 'r'`,
    [schema],
  );
  const acts = (action: string) => action === 'c' || action === 'n' || action === 'd';
  const reached = new Map(written);
  const out = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const ref of references) {
      const how = reached.get(ref.to);
      if (how === undefined || reached.has(ref.from)) continue;
      const cascades =
        how === 'truncate' ||
        (how === 'delete' && acts(ref.onDelete)) ||
        (how === 'update' && acts(ref.onUpdate));
      if (!cascades) continue;
      // What a cascade does to the referencing rows: a delete deletes (and cascades on), the rest update them.
      reached.set(ref.from, how === 'update' || ref.onDelete !== 'c' ? 'update' : how);
      out.add(ref.from);
      grew = true;
    }
  }
  return { inSchema: [...out], elsewhere: await cascadesElsewhere(db, schema, reached) };
}

/**
 * The tables of other schemas whose rows the foreign key actions of `reached` (this schema's tables, and how their
 * rows change) reach: the migration may not touch another schema, so they are neither backed up nor reverted.
 */
async function cascadesElsewhere(
  db: Database,
  schema: string,
  reached: ReadonlyMap<string, 'update' | 'delete' | 'truncate'>,
): Promise<Plan['cascadesElsewhere']> {
  const { rows } = await db.query<{ table: string; through: string; onDelete: string; onUpdate: string }>(
    `SELECT format('%I.%I', cn.nspname, c.relname) AS "table", r.relname AS through,
            k.confdeltype::text AS "onDelete", k.confupdtype::text AS "onUpdate"
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
      WHERE k.contype = 'f' AND k.conparentid = 0 AND rn.nspname = $1 AND cn.nspname <> $1
      ORDER BY 1, 2`,
    [schema],
  );
  const acts = (action: string) => action === 'c' || action === 'n' || action === 'd';
  return rows.filter((ref) => {
    const how = reached.get(ref.through);
    return (
      how === 'truncate' ||
      (how === 'delete' && acts(ref.onDelete)) ||
      (how === 'update' && acts(ref.onUpdate))
    );
  });
}

/** The finding kinds whose fix the default migration proposes: lock-safe DDL, nothing that loses data. */
const PROPOSED_KINDS = new Set(['missing-fk-index', 'duplicate-index']);

/**
 * The migration Flowstate proposes when none is given: the lock-safe fixes of the schema analysis's findings on
 * this schema (an index for each unindexed foreign key, built CONCURRENTLY, on a partitioned table per partition
 * and attached to an index made ON ONLY the parent; exact duplicate indexes dropped CONCURRENTLY).
 */
async function proposeFixes(
  db: Database,
  schema: string,
): Promise<{ sql: string; fixes: { id: string; message: string }[] }> {
  const catalog = await introspect(db, schema);
  const findings = [...missingForeignKeyIndexes(catalog), ...indexHealth(catalog)].filter(
    (f) => PROPOSED_KINDS.has(f.kind) && f.fix !== undefined,
  );
  return {
    sql: findings.map((f) => `${f.fix};`).join('\n'),
    fixes: findings.map((f) => ({ id: f.id, message: f.message })),
  };
}

/** The name a table has after the renames (a table renamed twice ends with its last name). */
export function renamedTo(table: string, renames: readonly Rename[]): string {
  let name = table;
  for (const r of renames) if (r.kind === 'table' && r.table === name) name = r.to;
  return name;
}
