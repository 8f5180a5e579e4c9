/**
 * Each rule as the SQL condition a row that breaks it satisfies, for one set-based pass over a table. Identifiers
 * are quoted, values are parameters; the only SQL text taken as is is a check constraint's expression (read again
 * from the catalog by name) and the user's own expressions (checked first, and always run read-only).
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { ConfigurationError } from '../../src/index.js';
import type { Rule, Task } from './schemas.js';

/** Collects parameters and returns their placeholders. */
export class Params {
  readonly values: unknown[] = [];
  /** `$n` for `value`, cast to `type` so the server need not guess it. */
  add(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/** A rule's violation condition: `inner` is evaluated next to the table's own columns, `outer` after the joins. */
export interface Predicate {
  /** A boolean over the table's columns, by their plain names (check expressions and user expressions). */
  readonly inner?: string;
  /** A LEFT JOIN the condition needs (foreign keys, orphans). */
  readonly join?: string;
  /** The condition over `s` (the table's row) and the join, or over the inner flag. */
  readonly outer: string;
}

/** The SQL of the violation condition of rule `index` of `task`. */
export async function predicateOf(
  db: Database,
  task: Task,
  rule: Rule,
  index: number,
  params: Params,
): Promise<Predicate> {
  const c = (name: string) => `s.${quoteIdent(name)}`;
  const [first = ''] = rule.columns;
  const flag = `s.${quoteIdent(`__fs_v${index}`)}`;
  switch (rule.kind) {
    case 'not-null':
      return { outer: `${c(first)} IS NULL` };
    case 'enum':
      return {
        outer: `(${c(first)} IS NOT NULL AND ${c(first)}::text NOT IN (SELECT json_array_elements_text(${params.add(JSON.stringify(rule.values ?? []), 'json')})))`,
      };
    case 'range':
    case 'non-negative': {
      const value = numeric(task, first, c(first));
      const parts: string[] = [];
      if (rule.min !== undefined)
        parts.push(`${value} ${rule.minExclusive ? '<=' : '<'} ${params.add(rule.min, 'numeric')}`);
      if (rule.max !== undefined)
        parts.push(`${value} ${rule.maxExclusive ? '>=' : '>'} ${params.add(rule.max, 'numeric')}`);
      return { outer: parts.length === 0 ? 'false' : `(${parts.join(' OR ')})` };
    }
    case 'not-future':
      return { outer: `${c(first)}::timestamptz > now() + interval '1 day'` };
    case 'foreign-key':
    case 'orphan': {
      const alias = `r${index}`;
      const refColumns = rule.refColumns ?? [];
      const on = rule.columns
        .map((col, i) => `${alias}.${quoteIdent(refColumns[i] ?? '')} = ${c(col)}`)
        .join(' AND ');
      const target = qualifiedName(rule.refSchema || task.schema, rule.refTable ?? '');
      return {
        join: `LEFT JOIN ${target} AS ${alias} ON ${on}`,
        outer: `(${rule.columns.map((col) => `${c(col)} IS NOT NULL`).join(' AND ')} AND ${alias}.${quoteIdent(refColumns[0] ?? '')} IS NULL)`,
      };
    }
    case 'check':
      return { inner: `(${await catalogExpression(db, task, rule.name)}) IS FALSE`, outer: flag };
    case 'expression':
      return { inner: `(${rule.expression ?? 'true'}) IS FALSE`, outer: flag };
    case 'user-rule':
      return { outer: jsonSchemaPredicate(task, rule, params, c) };
  }
}

/** A numeric column as `numeric`: money has no comparison with numeric, so it is compared by its value. */
function numeric(task: Task, column: string, ref: string): string {
  return task.columns.find((col) => col.name === column)?.type === 'money' ? `${ref}::numeric` : ref;
}

/** The check constraint's expression as the catalog holds it, looked up by schema, table and constraint name. */
async function catalogExpression(db: Database, task: Task, name: string): Promise<string> {
  const { rows } = await db.query<{ expression: string }>(
    `SELECT pg_get_expr(k.conbin, k.conrelid) AS expression FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND k.conname = $3 AND k.contype = 'c'`,
    [task.schema, task.table, name],
  );
  const expression = rows[0]?.expression;
  if (expression === undefined)
    throw new ConfigurationError(`No check constraint '${name}' on '${task.table}'`);
  return expression;
}

/** Keywords of a row's JSON Schema with no effect on the check. */
const ANNOTATIONS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'description',
  'title',
  '$schema',
]);
const COLUMN_ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', '$comment']);

/**
 * A row's JSON Schema as the SQL condition of a row that breaks it. Supported per property: `const`, `enum`,
 * `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength`, `pattern`, and `type`
 * (only whether NULL is allowed); anything else is refused at plan time, so a rule is never half checked.
 */
export function jsonSchemaPredicate(
  task: Task,
  rule: Pick<Rule, 'name' | 'jsonSchema'>,
  params: Params,
  c: (name: string) => string = (name) => `s.${quoteIdent(name)}`,
): string {
  const schema = rule.jsonSchema ?? {};
  const refuse = (what: string) =>
    new ConfigurationError(
      `Rule '${rule.name}': ${what} cannot be checked in SQL; give an SQL expression ("checks") or a zod rule instead`,
    );
  for (const key of Object.keys(schema)) if (!ANNOTATIONS.has(key)) throw refuse(`keyword '${key}'`);
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const parts: string[] = [];
  for (const name of new Set([...Object.keys(properties), ...required])) {
    const column = task.columns.find((col) => col.name === name);
    if (!column)
      throw new ConfigurationError(`Rule '${rule.name}': table '${task.table}' has no column '${name}'`);
    const spec = properties[name] ?? {};
    const ref = c(name);
    const num = numeric(task, name, ref);
    const types = [spec.type ?? []].flat() as string[];
    for (const [key, value] of Object.entries(spec)) {
      if (COLUMN_ANNOTATIONS.has(key) || key === 'type') continue;
      if (key === 'const') {
        parts.push(
          typeof value === 'number'
            ? `${num} IS DISTINCT FROM ${params.add(value, 'numeric')}`
            : value === null
              ? `${ref} IS NOT NULL`
              : `${ref}::text IS DISTINCT FROM ${params.add(String(value), 'text')}`,
        );
      } else if (key === 'enum' && Array.isArray(value)) {
        const listed = value.filter((v) => v !== null).map(String);
        const nullOk = value.includes(null);
        parts.push(
          `(${ref} IS ${nullOk ? 'NOT NULL AND' : 'NULL OR'} ${ref}::text NOT IN (SELECT json_array_elements_text(${params.add(JSON.stringify(listed), 'json')})))`,
        );
      } else if (key in BOUNDS && typeof value === 'number') {
        parts.push(`${num} ${BOUNDS[key]} ${params.add(value, 'numeric')}`);
      } else if (key === 'minLength' || key === 'maxLength') {
        parts.push(
          `char_length(${ref}::text) ${key === 'minLength' ? '<' : '>'} ${params.add(value, 'integer')}`,
        );
      } else if (key === 'pattern' && typeof value === 'string') {
        parts.push(`${ref}::text !~ ${params.add(value, 'text')}`);
      } else {
        throw refuse(`keyword '${key}' of '${name}'`);
      }
    }
    if (types.length > 0 && !types.includes('null')) parts.push(`${ref} IS NULL`);
  }
  return parts.length === 0 ? 'false' : `(${parts.join(' OR ')})`;
}

/** The comparison a value breaking each bound satisfies. */
const BOUNDS: Record<string, string> = {
  minimum: '<',
  exclusiveMinimum: '<=',
  maximum: '>',
  exclusiveMaximum: '>=',
};
