/**
 * Checking one batch: one query reads the rows and, next to each, a flag per rule PostgreSQL evaluates (foreign
 * keys, check expressions); the other rules are predicates on the row. Identifiers are quoted; check expressions
 * are read again from the catalog by constraint name, never taken from the batch (which is only data).
 */
import type { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { ConfigurationError } from '../../src/index.js';
import { toZod, type ZodRule } from './rules.js';
import type { Batch, BatchResultSchema, ExampleSchema, Rule } from './schemas.js';

type BatchResult = z.infer<typeof BatchResultSchema>;
type Example = z.infer<typeof ExampleSchema>;
type Row = Record<string, unknown>;

const FLAG = '__flowstate_rule_';
const SQL_KINDS = new Set<Rule['kind']>(['check', 'foreign-key']);

/** What the batch checker keeps between batches: zod rules from the factory, compiled JSON Schemas, expressions. */
export interface CheckerState {
  readonly zodRules: ReadonlyMap<string, ZodRule>;
  readonly compiled: Map<string, z.ZodType>;
  readonly expressions: Map<string, string>;
}

/** Checks the rows `batch` names against its rules. */
export async function checkBatch(db: Database, batch: Batch, state: CheckerState): Promise<BatchResult> {
  const sqlRules = batch.rules.filter((r) => SQL_KINDS.has(r.kind));
  const flags = await Promise.all(
    sqlRules.map(
      async (rule, i) => `${await flagSql(db, batch, rule, state)} AS ${quoteIdent(`${FLAG}${i}`)}`,
    ),
  );
  const order =
    batch.key.length > 0
      ? batch.key.map((c) => `src.${quoteIdent(c)}`).join(', ')
      : await fallbackOrder(db, batch);
  const { rows } = await db.query<Row>(
    `SELECT src.*${flags.map((f) => `, ${f}`).join('')} FROM ${qualifiedName(batch.schema, batch.table)} AS src
     ORDER BY ${order} LIMIT $1 OFFSET $2`,
    [batch.limit, batch.offset],
  );
  const found = new Map<string, { count: number; examples: Example[] }>();
  const violating = new Set<number>();
  rows.forEach((raw, i) => {
    const position = batch.offset + i;
    const row: Row = {};
    const flagged: boolean[] = [];
    for (const [name, value] of Object.entries(raw)) {
      if (name.startsWith(FLAG)) flagged[Number(name.slice(FLAG.length))] = value === true;
      else row[name] = toJson(value);
    }
    for (const rule of batch.rules) {
      const sqlIndex = sqlRules.indexOf(rule);
      const message =
        sqlIndex >= 0 ? (flagged[sqlIndex] ? sqlMessage(rule) : undefined) : rowMessage(rule, row, state);
      if (message === undefined) continue;
      violating.add(position);
      const entry = found.get(rule.id) ?? { count: 0, examples: [] };
      entry.count++;
      if (entry.examples.length < batch.examples)
        entry.examples.push(example(batch, rule, row, position, message));
      found.set(rule.id, entry);
    }
  });
  return {
    table: batch.table,
    offset: batch.offset,
    rows: rows.length,
    violatingRows: [...violating],
    violations: [...found].map(([rule, v]) => ({ rule, ...v })),
  };
}

/** Without a primary key: a table in physical order, a view by every column (a stable order for LIMIT/OFFSET). */
async function fallbackOrder(db: Database, batch: Batch): Promise<string> {
  const { rows } = await db.query<{ kind: string; columns: number }>(
    `SELECT c.relkind::text AS kind, c.relnatts::integer AS columns FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [batch.schema, batch.table],
  );
  const found = rows[0];
  if (!found) throw new ConfigurationError(`No table or view '${batch.table}' in schema '${batch.schema}'`);
  if (found.kind === 'r' || found.kind === 'p') return 'src.ctid';
  return Array.from({ length: found.columns }, (_, i) => String(i + 1)).join(', ');
}

async function flagSql(db: Database, batch: Batch, rule: Rule, state: CheckerState): Promise<string> {
  if (rule.kind === 'foreign-key') {
    const pairs = rule.columns.map(
      (c, i) => [quoteIdent(c), quoteIdent(rule.refColumns?.[i] ?? '')] as const,
    );
    const present = pairs.map(([c]) => `src.${c} IS NOT NULL`).join(' AND ');
    const match = pairs.map(([c, r]) => `ref.${r} = src.${c}`).join(' AND ');
    const target = qualifiedName(rule.refSchema ?? batch.schema, rule.refTable ?? '');
    return `(${present} AND NOT EXISTS (SELECT 1 FROM ${target} AS ref WHERE ${match}))`;
  }
  return `((${await catalogExpression(db, batch, rule, state)}) IS FALSE)`;
}

/** The check constraint's expression as the catalog holds it, looked up by schema, table and constraint name. */
async function catalogExpression(
  db: Database,
  batch: Batch,
  rule: Rule,
  state: CheckerState,
): Promise<string> {
  const key = JSON.stringify([batch.schema, batch.table, rule.name]);
  const cached = state.expressions.get(key);
  if (cached !== undefined) return cached;
  const { rows } = await db.query<{ expression: string }>(
    `SELECT pg_get_expr(k.conbin, k.conrelid) AS expression FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND k.conname = $3 AND k.contype = 'c'`,
    [batch.schema, batch.table, rule.name],
  );
  const expression = rows[0]?.expression;
  if (expression === undefined)
    throw new ConfigurationError(`No check constraint '${rule.name}' on '${batch.table}'`);
  state.expressions.set(key, expression);
  return expression;
}

function sqlMessage(rule: Rule): string {
  return rule.kind === 'foreign-key'
    ? `${rule.columns.join(', ')} has no match in ${rule.refTable}`
    : `breaks ${rule.name}: ${rule.description}`;
}

/** Why `row` breaks `rule` (a rule checked on the row), or undefined when it holds. NULL passes, as in SQL. */
function rowMessage(rule: Rule, row: Row, state: CheckerState): string | undefined {
  const column = rule.columns[0] ?? '';
  const value = row[column];
  switch (rule.kind) {
    case 'not-null':
      return value === null || value === undefined ? `${column} is NULL` : undefined;
    case 'enum':
      return value === null || rule.values?.includes(String(value))
        ? undefined
        : `${column} = ${JSON.stringify(value)} is not one of ${rule.values?.join(', ')}`;
    case 'range': {
      if (value === null) return undefined;
      const n = Number(value);
      const low = rule.min === undefined || (rule.minExclusive ? n > rule.min : n >= rule.min);
      const high = rule.max === undefined || (rule.maxExclusive ? n < rule.max : n <= rule.max);
      return low && high
        ? undefined
        : `${column} = ${JSON.stringify(value)} is out of range (${rule.description})`;
    }
    default: {
      const result = userSchema(rule, state).safeParse(row);
      if (result.success) return undefined;
      return result.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.map(String).join('.') || '(row)'}: ${i.message}`)
        .join('; ');
    }
  }
}

function userSchema(rule: Rule, state: CheckerState): z.ZodType {
  if (rule.source === 'agents') {
    const found = state.zodRules.get(JSON.stringify([rule.table, rule.name]));
    if (!found)
      throw new ConfigurationError(
        `No zod rule '${rule.name}' for table '${rule.table}' was given to the agents`,
      );
    return found.schema;
  }
  let compiled = state.compiled.get(rule.id);
  if (!compiled) {
    compiled = toZod(rule.name, rule.jsonSchema ?? {});
    state.compiled.set(rule.id, compiled);
  }
  return compiled;
}

function example(batch: Batch, rule: Rule, row: Row, position: number, message: string): Example {
  const pick = (columns: readonly string[]) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null]));
  return {
    position,
    key: batch.key.length > 0 ? pick(batch.key) : trim(row),
    values: rule.kind === 'user-rule' ? trim(row) : pick(rule.columns),
    message,
  };
}

/** Rows as JSON: instants as ISO strings, bytes as hex; long strings cut, so reports stay readable. */
function toJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  return value;
}

function trim(row: Row): Row {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      typeof v === 'string' && v.length > 120 ? `${v.slice(0, 117)}...` : v,
    ]),
  );
}
