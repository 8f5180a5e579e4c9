/**
 * Reads what each statement of a migration does, from its tokens: which table it touches and how (create, drop,
 * alter with its actions, index, data change). The lint decides what is dangerous from this; the database still
 * parses and runs the real text. A statement this reader does not know is kept as `other`, never guessed at.
 */
import { z } from 'zod';
import { isKeyword, type SqlStatement, splitStatements } from '../lib/sql-text.js';
import { AlterActionSchema, alterActions } from './alter.js';
import { type ObjectName, ObjectNameSchema, Reader } from './reader.js';

export type { AlterAction } from './alter.js';
export type { ObjectName } from './reader.js';

/** What one statement does. */
const OperationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('create-table'), table: ObjectNameSchema }),
  z.object({ kind: z.literal('drop-table'), tables: z.array(ObjectNameSchema), cascade: z.boolean() }),
  z.object({ kind: z.literal('alter-table'), table: ObjectNameSchema, actions: z.array(AlterActionSchema) }),
  z.object({
    kind: z.literal('create-index'),
    table: ObjectNameSchema,
    unique: z.boolean(),
    concurrently: z.boolean(),
  }),
  z.object({ kind: z.literal('drop-index'), indexes: z.array(ObjectNameSchema), concurrently: z.boolean() }),
  z.object({ kind: z.literal('truncate'), tables: z.array(ObjectNameSchema) }),
  z.object({
    kind: z.enum(['insert', 'update', 'delete']),
    table: ObjectNameSchema,
    where: z.boolean(),
  }),
  z.object({ kind: z.literal('transaction-control'), keyword: z.string() }),
  /** Anything else, by its leading keywords (`create view`, `drop type`, `vacuum`...). */
  z.object({ kind: z.literal('other'), keywords: z.string() }),
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
});
/** A statement of the migration and what it does. */
export type PlannedStatement = z.infer<typeof PlannedStatementSchema>;

/** Splits a migration script and reads each statement. */
export function parseMigration(sql: string): PlannedStatement[] {
  return splitStatements(sql).map((statement, index) => ({
    index,
    sql: statement.sql,
    operation: readOperation(statement),
  }));
}

const TRANSACTION_WORDS = ['begin', 'commit', 'rollback', 'savepoint', 'release', 'end', 'start', 'abort'];

function readOperation(statement: SqlStatement): Operation {
  const r = new Reader(statement.tokens);
  const first = r.peek();
  const keywords = statement.tokens
    .slice(0, 2)
    .map((t) => t.value)
    .join(' ');
  if (isKeyword(first, ...TRANSACTION_WORDS)) return { kind: 'transaction-control', keyword: first!.value };
  if (r.accept('create')) {
    r.accept('or', 'replace');
    const unique = r.accept('unique');
    if (r.accept('index')) return createIndex(r, unique);
    r.accept('unlogged') || r.accept('temporary') || r.accept('temp');
    if (r.accept('table')) {
      r.accept('if', 'not', 'exists');
      const table = r.name();
      if (table) return { kind: 'create-table', table };
    }
    return { kind: 'other', keywords };
  }
  if (r.accept('drop', 'table')) {
    r.accept('if', 'exists');
    return { kind: 'drop-table', tables: r.names(), cascade: r.has('cascade') };
  }
  if (r.accept('drop', 'index')) {
    const concurrently = r.accept('concurrently');
    r.accept('if', 'exists');
    return { kind: 'drop-index', indexes: r.names(), concurrently };
  }
  if (r.accept('alter', 'table')) {
    r.accept('if', 'exists');
    r.accept('only');
    const table = r.name();
    if (table) return { kind: 'alter-table', table, actions: alterActions(r) };
    return { kind: 'other', keywords };
  }
  if (r.accept('truncate')) {
    r.accept('table');
    r.accept('only');
    return { kind: 'truncate', tables: r.names() };
  }
  if (r.accept('insert', 'into')) return dml('insert', r, false);
  if (r.accept('update')) {
    r.accept('only');
    return dml('update', r, r.has('where'));
  }
  if (r.accept('delete', 'from')) {
    r.accept('only');
    return dml('delete', r, r.has('where'));
  }
  return { kind: 'other', keywords };
}

function dml(kind: 'insert' | 'update' | 'delete', r: Reader, where: boolean): Operation {
  const table = r.name();
  return table ? { kind, table, where } : { kind: 'other', keywords: kind };
}

function createIndex(r: Reader, unique: boolean): Operation {
  const concurrently = r.accept('concurrently');
  r.accept('if', 'not', 'exists');
  if (!isKeyword(r.peek(), 'on')) r.name();
  if (!r.accept('on')) return { kind: 'other', keywords: 'create index' };
  r.accept('only');
  const table = r.name();
  return table
    ? { kind: 'create-index', table, unique, concurrently }
    : { kind: 'other', keywords: 'create index' };
}
