/**
 * Rules from the catalog (only what PostgreSQL does not enforce: NOT VALID checks and foreign keys) and from the
 * user (JSON Schemas, SQL expressions, zod schemas). Simple checks become `not-null`, `enum` or `range` rules; every
 * rule is evaluated by PostgreSQL in the table's one pass, except zod rules, which only Node can run.
 */
import { z } from 'zod';
import { ConfigurationError } from '../../src/index.js';
import type { CatalogConstraint, CatalogTable } from '../lib/catalog.js';
import type { Rule } from './schemas.js';

/** A user rule given as a zod schema to the agents factory. */
export interface ZodRule {
  readonly table: string;
  readonly name: string;
  /** Validates one row (values as JSON: numerics as numbers, timestamps as ISO strings). Run in Node, page by page. */
  readonly schema: z.ZodType;
}

const IDENT = '("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)';
const NUMBER = String.raw`\(?(-?\d+(?:\.\d+)?)\)?(?:::[a-z ]+)?`;
const IS_NOT_NULL = new RegExp(`^\\(${IDENT} IS NOT NULL\\)$`);
const IN_LIST = new RegExp(
  `^\\(${IDENT}(?:::text)? = ANY \\(\\(?ARRAY\\[(.*)\\]\\)?(?:::text\\[\\])?\\)\\)$`,
);
const COMPARISON = new RegExp(`^\\(${IDENT} (>=|>|<=|<) ${NUMBER}\\)$`);
const AND = /^\((\(.*\)) AND (\(.*\))\)$/;

const unquote = (ident: string) => (ident.startsWith('"') ? ident.slice(1, -1).replaceAll('""', '"') : ident);

/**
 * The rules the catalog implies for `table` that PostgreSQL does not already enforce: NOT VALID checks and
 * foreign keys (rows older than the constraint were never checked). NOT NULL, enum types, validated checks,
 * foreign keys and unique constraints hold for every row already, so checking them again only costs time.
 */
export function deriveRules(table: CatalogTable): { rules: Rule[]; enforced: number } {
  const rules: Rule[] = [];
  let enforced = table.columns.filter((c) => (!c.nullable && table.kind === 'table') || c.enumValues).length;
  for (const constraint of table.constraints) {
    if (constraint.validated || constraint.kind === 'p' || constraint.kind === 'u') {
      enforced++;
      continue;
    }
    if (constraint.kind === 'c') rules.push(checkRule(table.name, constraint));
    if (constraint.kind === 'f') {
      rules.push({
        table: table.name,
        source: 'schema',
        id: `foreign-key:${table.name}.${constraint.name}`,
        kind: 'foreign-key',
        name: constraint.name,
        columns: constraint.columns,
        description: `${constraint.columns.join(', ')} exists in ${constraint.refTable} (${constraint.refColumns.join(', ')})`,
        enforced: false,
        refSchema: constraint.refSchema ?? '',
        refTable: constraint.refTable ?? '',
        refColumns: constraint.refColumns,
      });
    }
  }
  return { rules, enforced };
}

/** A check constraint as a `not-null`, `enum` or `range` rule when its expression is that simple, else `check`. */
function checkRule(table: string, constraint: CatalogConstraint): Rule {
  const expression = constraint.expression ?? '';
  const base = {
    table,
    id: `check:${table}.${constraint.name}`,
    name: constraint.name,
    columns: constraint.columns,
    enforced: false,
    source: 'schema' as const,
  };
  const notNull = IS_NOT_NULL.exec(expression);
  if (notNull?.[1]) {
    return {
      ...base,
      kind: 'not-null',
      columns: [unquote(notNull[1])],
      description: `${unquote(notNull[1])} is never NULL`,
    };
  }
  const list = IN_LIST.exec(expression);
  if (list?.[1] && list[2] !== undefined) {
    const values = [...list[2].matchAll(/'((?:[^']|'')*)'(?:::[a-z ]+)?/g)].map((m) =>
      (m[1] ?? '').replaceAll("''", "'"),
    );
    const column = unquote(list[1]);
    return {
      ...base,
      kind: 'enum',
      columns: [column],
      values,
      description: `${column} is one of ${values.join(', ')}`,
    };
  }
  const bounds = rangeOf(expression);
  if (bounds) {
    return {
      ...base,
      kind: 'range',
      columns: [bounds.column],
      ...bounds.range,
      description: `${constraint.definition}`,
    };
  }
  return { ...base, kind: 'check', expression, description: constraint.definition };
}

type Range = Pick<Rule, 'min' | 'max' | 'minExclusive' | 'maxExclusive'>;

function rangeOf(expression: string): { column: string; range: Range } | undefined {
  const both = AND.exec(expression);
  if (both?.[1] && both[2]) {
    const a = rangeOf(both[1]);
    const b = rangeOf(both[2]);
    if (!a || !b || a.column !== b.column) return undefined;
    return { column: a.column, range: { ...a.range, ...b.range } };
  }
  const m = COMPARISON.exec(expression);
  if (!m?.[1] || !m[2] || m[3] === undefined) return undefined;
  const value = Number(m[3]);
  const column = unquote(m[1]);
  if (m[2] === '>=') return { column, range: { min: value } };
  if (m[2] === '>') return { column, range: { min: value, minExclusive: true } };
  if (m[2] === '<=') return { column, range: { max: value } };
  return { column, range: { max: value, maxExclusive: true } };
}

/** A user rule from the workflow input, its JSON Schema checked now so a bad one fails the plan, not a batch. */
export function inputRule(rule: { table: string; name: string; schema: Record<string, unknown> }): Rule {
  toZod(rule.name, rule.schema);
  return {
    id: `user-rule:${rule.table}:${rule.name}`,
    table: rule.table,
    kind: 'user-rule',
    name: rule.name,
    columns: Object.keys((rule.schema.properties as Record<string, unknown> | undefined) ?? {}),
    description: `Rows match the JSON Schema of '${rule.name}'`,
    enforced: false,
    jsonSchema: rule.schema,
    source: 'input',
  };
}

/** A user SQL expression rule; the plan checks it compiles (read-only) before any table is read. */
export function expressionRule(rule: { table: string; name: string; expression: string }): Rule {
  return {
    id: `expression:${rule.table}:${rule.name}`,
    table: rule.table,
    kind: 'expression',
    name: rule.name,
    columns: [],
    description: `Every row satisfies ${rule.expression}`,
    enforced: false,
    expression: rule.expression,
    source: 'input',
  };
}

/** A zod rule given to the agents factory, described as data (its schema stays in the agents' closure). */
export function zodRule(rule: ZodRule): Rule {
  return {
    id: `user-rule:${rule.table}:${rule.name}`,
    table: rule.table,
    kind: 'user-rule',
    name: rule.name,
    columns: [],
    description: rule.schema.description ?? `Rows match the zod schema '${rule.name}'`,
    enforced: false,
    source: 'agents',
  };
}

/** A JSON Schema as zod (only to refuse an invalid one early); throws a `ConfigurationError` naming the rule when it is not a valid JSON Schema. */
function toZod(name: string, schema: Record<string, unknown>): z.ZodType {
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (cause) {
    throw new ConfigurationError(`Rule '${name}' is not a valid JSON Schema`, { cause });
  }
}
