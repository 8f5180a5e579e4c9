/**
 * What a query generator is told about the database: tables, columns with their types, enum labels and most
 * common values (from `pg_stats`, so "customers from FR" can be matched to a column), keys and foreign keys.
 * Compact and plain JSON, so it can be a prompt for an LLM as well as the deterministic generator's vocabulary.
 */
import { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import { type Catalog, type CatalogTable, introspect } from '../lib/catalog.js';
import { guessReference } from '../lib/references.js';

/** One column as the generator sees it. */
const ContextColumnSchema = z.object({
  name: z.string(),
  type: z.string(),
  nullable: z.boolean(),
  /** Enum labels, or the most common values of a low-cardinality text column; empty otherwise. */
  values: z.array(z.string()),
});

/** One foreign key, from this table's columns to another's. */
export const ContextForeignKeySchema = z.object({
  columns: z.array(z.string()),
  refTable: z.string(),
  refColumns: z.array(z.string()),
  /** Not declared: guessed from names and types (`CustomerId` -> `Customer.CustomerId`). */
  inferred: z.boolean().optional(),
});

/** One table or view. */
export const ContextTableSchema = z.object({
  name: z.string(),
  kind: z.enum(['table', 'view']),
  estimatedRows: z.number(),
  primaryKey: z.array(z.string()),
  columns: z.array(ContextColumnSchema),
  foreignKeys: z.array(ContextForeignKeySchema),
  /** False when this role may not read it (no SELECT privilege): a query on it is refused. */
  readable: z.boolean().optional(),
});

/** The request and the schema, as the generator receives them. */
export const SchemaContextSchema = z.object({
  request: z.string(),
  schema: z.string(),
  tables: z.array(ContextTableSchema),
});
/** The request and the schema, as the generator receives them. */
export type SchemaContext = z.infer<typeof SchemaContextSchema>;
/** A table of a {@link SchemaContext}. */
export type ContextTable = z.infer<typeof ContextTableSchema>;
/** A foreign key of a {@link SchemaContext} table. */
export type ContextForeignKey = z.infer<typeof ContextForeignKeySchema>;

/** Columns with at most this many distinct values get their common values listed. */
const MAX_LISTED_VALUES = 30;

const COMMON_VALUES = `
  SELECT tablename AS "table", attname AS "column", most_common_vals::text AS vals
  FROM pg_stats
  WHERE schemaname = $1 AND most_common_vals IS NOT NULL
    AND (n_distinct BETWEEN 1 AND $2 OR (n_distinct < 0 AND n_distinct * -1 * (
      SELECT GREATEST(c.reltuples, 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = schemaname AND c.relname = tablename) <= $2))`;

/**
 * Reads the schema context of `schema` for `request` (when none is given, one this schema can answer: the top 5
 * rows of a parent table by the number of rows of its largest child, or a count of the largest table).
 */
export async function schemaContext(
  db: Database,
  request: string | undefined,
  schema: string,
): Promise<SchemaContext> {
  const catalog = await introspect(db, schema);
  const stats = await db.query<{ table: string; column: string; vals: string }>(COMMON_VALUES, [
    schema,
    MAX_LISTED_VALUES,
  ]);
  const common = (table: string, column: string) =>
    parseArrayLiteral(stats.rows.find((r) => r.table === table && r.column === column)?.vals ?? '{}');
  const textual = (type: string) => /^(text|character|char|varchar|bpchar|citext)/.test(type);
  const context: SchemaContext = {
    request: request ?? '',
    schema,
    tables: catalog.tables
      .filter((t) => !t.partitionOf)
      .map((t) => ({
        name: t.name,
        kind: t.kind,
        estimatedRows: t.estimatedRows,
        primaryKey: t.constraints.find((c) => c.kind === 'p')?.columns ?? [],
        columns: t.columns.map((c) => ({
          name: c.name,
          type: c.type,
          nullable: c.nullable,
          values: c.enumValues ?? (textual(c.type) ? common(t.name, c.name) : []),
        })),
        foreignKeys: [
          ...t.constraints
            .filter((c) => c.kind === 'f' && c.refTable !== null && c.refSchema === schema)
            .map((c) => ({ columns: c.columns, refTable: c.refTable as string, refColumns: c.refColumns })),
          ...inferredKeys(catalog, t),
        ],
        ...(t.readable === false ? { readable: false } : {}),
      })),
  };
  return request === undefined ? { ...context, request: defaultRequest(context) } : context;
}

/** A request the schema can answer, for a run without one (the CLI's default input). */
function defaultRequest(context: SchemaContext): string {
  // A table this role may not read would only be refused: the question is asked of the tables it can read.
  const tables = context.tables.filter((t) => t.kind === 'table' && t.readable !== false);
  const bySize = [...tables].sort((a, b) => b.estimatedRows - a.estimatedRows);
  const readable = new Set(tables.map((t) => t.name));
  for (const child of bySize) {
    const fk = child.foreignKeys.find((f) => f.refTable !== child.name && readable.has(f.refTable));
    if (fk) return `Top 5 ${words(fk.refTable)} by number of ${words(child.name)}`;
  }
  const largest = bySize[0];
  // No table: nothing can be asked of it; the agents end the run unanswered, saying so (see `emptySchema`).
  return largest ? `How many ${words(largest.name)} are there?` : `What is in the schema ${context.schema}?`;
}

/**
 * Why no query can answer anything on this schema: it has no table or view. Said once, plainly, instead of a
 * generator's tries and a human asked for a query on nothing.
 */
export function emptySchema(context: SchemaContext): string | null {
  if (context.tables.length === 0)
    return `The schema ${context.schema} has no tables: there is nothing to query (give another with "schema")`;
  if (context.tables.every((t) => t.readable === false))
    return `This role may read no table or view of the schema ${context.schema} (no SELECT privilege): there is nothing it can query (give another with "schema", or connect as a role that may read it)`;
  return null;
}

/** `order_items` and `OrderItems` as `order items`. */
function words(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replaceAll('_', ' ')
    .toLowerCase();
}

/** References of `table` no foreign key declares, guessed from names and types (joins need them). */
function inferredKeys(catalog: Catalog, table: CatalogTable) {
  const declared = new Set(table.constraints.filter((c) => c.kind === 'f').flatMap((c) => c.columns));
  const own = table.constraints.find((c) => c.kind === 'p')?.columns ?? [];
  return table.columns.flatMap((column) => {
    if (declared.has(column.name) || (own.length === 1 && own[0] === column.name)) return [];
    const ref = guessReference(catalog, table, column.name, column.type);
    return ref
      ? [{ columns: [column.name], refTable: ref.table, refColumns: [ref.column], inferred: true }]
      : [];
  });
}

/** Reads a one-dimensional PostgreSQL array literal (`{a,"b c",NULL}`) into strings, NULLs left out. */
function parseArrayLiteral(text: string): string[] {
  const body = text.trim().replace(/^\{/, '').replace(/\}$/, '');
  const values: string[] = [];
  let i = 0;
  while (i < body.length) {
    if (body[i] === '"') {
      let value = '';
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === '\\') i++;
        value += body[i] ?? '';
        i++;
      }
      values.push(value);
      i += 2; // the closing quote and the comma
    } else {
      const end = body.indexOf(',', i);
      const value = body.slice(i, end === -1 ? undefined : end);
      if (value !== 'NULL') values.push(value);
      i = end === -1 ? body.length : end + 1;
    }
  }
  return values;
}
