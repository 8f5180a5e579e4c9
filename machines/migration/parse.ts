/**
 * Reads what each statement of a migration does from PostgreSQL's own parse tree (libpg_query): which table it
 * touches and how (create, drop, alter with its actions, index, data change), and what else it runs (a DO block,
 * a function, a procedure, a COPY, a setting). The lint decides what is dangerous from this. A statement this
 * reader does not know is kept as `other` with its node type, never guessed at, and needs an approval.
 */
import { z } from 'zod';
import {
  functionCalls,
  loadParser,
  type ParsedStatement,
  type PgNode,
  parseSql,
  rangeVar,
  strings,
  tableReferences,
  walk,
} from '../lib/pg-parser.js';
import { type AlterAction, AlterActionSchema, alterActions, typeText } from './alter.js';

export type { AlterAction } from './alter.js';

/** A possibly schema-qualified object name, as PostgreSQL resolves it (unquoted words folded to lower case). */
const ObjectNameSchema = z.object({ schema: z.string().nullable(), name: z.string() });
/** A name read from a statement. */
export type ObjectName = z.infer<typeof ObjectNameSchema>;

/** What one statement does. */
const OperationSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('create-table'),
    table: ObjectNameSchema,
    /** The columns' types (`integer`, `timestamp without time zone`, `serial`...), for the type advice. */
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
  }),
  z.object({ kind: z.literal('drop-table'), tables: z.array(ObjectNameSchema), cascade: z.boolean() }),
  z.object({
    kind: z.literal('alter-table'),
    table: ObjectNameSchema,
    actions: z.array(AlterActionSchema),
    /**
     * Functions its expressions call (a CHECK or DEFAULT runs them on every row). Absent in plans stored before it was
     * read.
     */
    functions: z.array(z.string()).optional(),
  }),
  z.object({
    kind: z.literal('create-index'),
    table: ObjectNameSchema,
    name: z.string().nullable(),
    unique: z.boolean(),
    concurrently: z.boolean(),
    /** `ON ONLY` a partitioned table: the parent's index alone, invalid and empty until partitions attach. */
    only: z.boolean(),
  }),
  z.object({ kind: z.literal('drop-index'), indexes: z.array(ObjectNameSchema), concurrently: z.boolean() }),
  z.object({ kind: z.literal('truncate'), tables: z.array(ObjectNameSchema) }),
  z.object({
    kind: z.enum(['insert', 'update', 'delete']),
    table: ObjectNameSchema,
    where: z.boolean(),
    /** Functions the statement calls (a function can do anything: it needs an approval unless known pure). */
    functions: z.array(z.string()),
  }),
  z.object({ kind: z.literal('select'), functions: z.array(z.string()), into: z.boolean() }),
  z.object({ kind: z.literal('set'), name: z.string() }),
  z.object({ kind: z.literal('transaction-control'), keyword: z.string() }),
  /** Anything else, by its parse tree node (`DoStmt`, `CreateFunctionStmt`, `CopyStmt`, `ViewStmt`...). */
  z.object({ kind: z.literal('other'), statement: z.string(), keywords: z.string() }),
]);
/** What one statement does. */
export type Operation = z.infer<typeof OperationSchema>;

/**
 * The tables an operation touches (for the schema checks, the snapshot and the lint).
 *
 * @example
 * ```ts
 * tablesOf({ kind: 'truncate', tables: [{ schema: 'public', name: 'orders' }] }); // [{ schema: 'public', name: 'orders' }]
 * ```
 */
export function tablesOf(op: Operation): ObjectName[] {
  switch (op.kind) {
    case 'drop-table':
    case 'truncate':
      return op.tables;
    case 'create-table':
    case 'alter-table':
    case 'create-index':
    case 'insert':
    case 'update':
    case 'delete':
      return [op.table];
    default:
      return [];
  }
}

/** A statement of the migration and what it does. */
export const PlannedStatementSchema = z.object({
  index: z.number().int(),
  sql: z.string(),
  operation: OperationSchema,
  /** The schemas the statement names explicitly (`other.t`), lower-cased as PostgreSQL folds them. Absent in old plans. */
  schemas: z.array(z.string()).optional(),
});
/** A statement of the migration and what it does. */
export type PlannedStatement = z.infer<typeof PlannedStatementSchema>;

/**
 * Splits a migration script with PostgreSQL's parser and reads each statement. Rejects (a `ConfigurationError`)
 * what PostgreSQL would not parse.
 */
export async function parseMigration(sql: string): Promise<PlannedStatement[]> {
  await loadParser();
  return parseSql(sql).map((statement, index) => ({
    index,
    sql: statement.sql,
    operation: readOperation(statement),
    schemas: schemasNamed(statement.node),
  }));
}

const name = (node: unknown): ObjectName | undefined => rangeVar(node);
const qualified = (list: unknown): ObjectName => {
  const parts = strings((list as { List?: { items?: unknown } }).List?.items ?? list);
  const last = parts.at(-1) ?? '';
  return { schema: parts.length > 1 ? (parts.at(-2) ?? null) : null, name: last };
};

function readOperation({ type, node, sql }: ParsedStatement): Operation {
  const other = (): Operation => ({ kind: 'other', statement: type, keywords: keywordsOf(sql) });
  // A write inside a WITH (`WITH d AS (DELETE ...) SELECT ...`) is not the statement's own kind: read as a SELECT it
  // would pass the lint with no approval and no backup. Told apart, for the lint to refuse.
  if (writesInWith(node)) return { kind: 'other', statement: 'DataModifyingWith', keywords: keywordsOf(sql) };
  switch (type) {
    case 'TransactionStmt':
      return {
        kind: 'transaction-control',
        keyword: String(node.kind)
          .replace(/^TRANS_STMT_/, '')
          .toLowerCase(),
      };
    case 'CreateStmt': {
      const table = name(node.relation);
      if (!table) return other();
      const columns = ((node.tableElts as { ColumnDef?: PgNode }[] | undefined) ?? []).flatMap((e) =>
        e.ColumnDef ? [{ name: String(e.ColumnDef.colname), type: typeText(e.ColumnDef.typeName) }] : [],
      );
      return { kind: 'create-table', table, columns };
    }
    case 'AlterEnumStmt':
      // RENAME VALUE changes what every row holding the value reads; ADD VALUE adds one that no revert can drop
      // (see `lint-irreversible.ts`).
      return {
        kind: 'other',
        statement: node.oldVal !== undefined ? 'AlterEnumRenameValue' : 'AlterEnumAddValue',
        keywords: keywordsOf(sql),
      };
    case 'DropStmt': {
      const objects = ((node.objects as unknown[]) ?? []).map(qualified);
      if (node.removeType === 'OBJECT_TABLE')
        return { kind: 'drop-table', tables: objects, cascade: node.behavior === 'DROP_CASCADE' };
      // DROP INDEX ... CASCADE also drops the foreign keys that use a unique index: not a plain index drop.
      if (node.removeType === 'OBJECT_INDEX' && node.behavior !== 'DROP_CASCADE')
        return { kind: 'drop-index', indexes: objects, concurrently: node.concurrent === true };
      return other();
    }
    case 'AlterTableStmt': {
      const table = name(node.relation);
      const cmds = (node.cmds as { AlterTableCmd?: PgNode }[] | undefined) ?? [];
      if (
        node.objtype === 'OBJECT_INDEX' &&
        cmds.every((c) => c.AlterTableCmd?.subtype === 'AT_AttachPartition')
      ) {
        return { kind: 'other', statement: 'AttachIndexPartition', keywords: 'ALTER INDEX' };
      }
      return table && node.objtype === 'OBJECT_TABLE'
        ? { kind: 'alter-table', table, actions: alterActions(node.cmds), functions: functionCalls(node) }
        : other();
    }
    case 'RenameStmt':
      return rename(node) ?? other();
    case 'IndexStmt': {
      const table = name(node.relation);
      return table
        ? {
            kind: 'create-index',
            table,
            name: typeof node.idxname === 'string' ? node.idxname : null,
            unique: node.unique === true,
            concurrently: node.concurrent === true,
            only: (node.relation as { inh?: boolean } | undefined)?.inh === false,
          }
        : other();
    }
    case 'TruncateStmt':
      return {
        kind: 'truncate',
        tables: ((node.relations as unknown[]) ?? []).flatMap((r) => name((r as PgNode).RangeVar) ?? []),
      };
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt': {
      const table = name(node.relation);
      // `INSERT ... ON CONFLICT DO UPDATE` overwrites the rows it conflicts with: an update, as the lint grades it.
      const upsert =
        (node.onConflictClause as { action?: string } | undefined)?.action === 'ONCONFLICT_UPDATE';
      const kind = type === 'InsertStmt' && !upsert ? 'insert' : type === 'DeleteStmt' ? 'delete' : 'update';
      if (upsert && table) return { kind, table, where: true, functions: functionCalls(node) };
      return table
        ? { kind, table, where: node.whereClause !== undefined, functions: functionCalls(node) }
        : other();
    }
    case 'SelectStmt':
      return { kind: 'select', functions: functionCalls(node), into: node.intoClause !== undefined };
    case 'VariableSetStmt':
      return { kind: 'set', name: String(node.name ?? node.kind).toLowerCase() };
    default:
      return other();
  }
}

function rename(node: PgNode): Operation | undefined {
  const table = name(node.relation);
  if (!table) return undefined;
  const to = String(node.newname);
  const action: AlterAction | undefined =
    node.renameType === 'OBJECT_TABLE'
      ? { kind: 'rename-table', to }
      : node.renameType === 'OBJECT_COLUMN'
        ? { kind: 'rename-column', column: String(node.subname), to }
        : undefined;
  return action ? { kind: 'alter-table', table, actions: [action] } : undefined;
}

/** The statement's first two words, upper case, for messages (`CREATE FUNCTION`, `DO $$`). */
function keywordsOf(sql: string): string {
  return sql.split(/\s+/).slice(0, 2).join(' ').toUpperCase();
}

/** Whether a statement's tree holds a DELETE, UPDATE, INSERT or MERGE below its top (in a WITH, at any depth). */
function writesInWith(node: PgNode): boolean {
  let found = false;
  walk(node, (type) => {
    if (type === 'DeleteStmt' || type === 'UpdateStmt' || type === 'InsertStmt' || type === 'MergeStmt')
      found = true;
  });
  return found;
}

/** Fields of the parse tree that hold a qualified name as a list of strings. */
const QUALIFIED = new Set(['items', 'funcname', 'names', 'typeName', 'object', 'objects']);
/** PostgreSQL's own schemas: naming them (`pg_catalog.int4`) is not touching another schema. */
const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/**
 * The schemas a statement names explicitly: of its table references (`other.t`), and of the objects a DROP, COMMENT
 * or other utility statement lists by qualified name (`DROP INDEX other.i`). Lower-cased unless quoted, as written.
 */
function schemasNamed(node: PgNode): string[] {
  const out = new Set<string>();
  const visit = (value: unknown, key: string): void => {
    if (Array.isArray(value)) {
      // A qualified name is a list of strings: its last part the object, the one before it the schema (a column
      // reference's `fields` are a table and a column instead).
      const parts = strings(value);
      if (QUALIFIED.has(key) && parts.length >= 2 && parts.length === value.length) {
        const schema = parts.at(-2) as string;
        if (!SYSTEM_SCHEMAS.has(schema)) out.add(schema);
      }
      for (const item of value) visit(item, key);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  visit(node, '');
  for (const table of tableReferences(node)) if (table.schema !== null) out.add(table.schema);
  return [...out];
}
