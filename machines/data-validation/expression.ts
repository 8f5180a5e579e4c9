/**
 * The judge of one proposed rule's SQL: a boolean expression over one row of one table, read with PostgreSQL's own
 * parser and accepted only when every node is one it can prove safe (columns of that table, constants, built-in
 * operators, casts to built-in types, a list of immutable or stable built-in functions, CASE, COALESCE...). A
 * subquery, a parameter, any other function (`pg_sleep`, `random`, `nextval`, a user's own), anything the list
 * does not name, is refused with its reason. The SQL that runs is rebuilt from the parse tree, fully parenthesized,
 * operators as `OPERATOR(pg_catalog.op)` and functions as `pg_catalog.name`: never the proposal's own text.
 */
import { quoteIdent } from '../../src/db/index.js';
import { type PgNode, parseSql, strings } from '../lib/pg-parser.js';
import { BOOLEAN_TESTS, CLOCK, FUNCTIONS, LIKE, OPERATORS, TYPES } from './expression-lists.js';

/** The judge's verdict on one expression: the SQL to run (rebuilt) and the columns it reads, or why not. */
export type ExpressionVerdict =
  | { readonly ok: true; readonly sql: string; readonly columns: string[] }
  | { readonly ok: false; readonly reason: string };

/** Bounds on what a rule may be: a rule is a short condition, not a program. */
const MAX_LENGTH = 2_000;
const MAX_NODES = 400;

/** A refusal thrown while rebuilding; caught by {@link judgeExpression}. */
class Refused extends Error {}

/**
 * Judges `expression` as a rule over one row of `table` (whose columns are `columns`). The parser must be loaded
 * (`loadParser()`).
 *
 * @example
 * ```ts
 * judgeExpression('discount BETWEEN 0 AND 1', 'order_items', ['discount']);
 * // { ok: true, sql: '("order_items"."discount" BETWEEN 0 AND 1)', columns: ['discount'] }
 * judgeExpression('pg_sleep(10) IS NULL', 'orders', ['id']); // { ok: false, reason: 'calls pg_sleep, ...' }
 * ```
 */
export function judgeExpression(
  expression: string,
  table: string,
  columns: readonly string[],
): ExpressionVerdict {
  if (expression.trim() === '') return { ok: false, reason: 'the expression is empty' };
  if (expression.length > MAX_LENGTH)
    return { ok: false, reason: `longer than ${MAX_LENGTH} characters: a rule is one short condition` };
  let statements: ReturnType<typeof parseSql>;
  try {
    statements = parseSql(`SELECT (${expression})`);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const [select] = statements;
  const targets =
    (select?.node.targetList as { ResTarget?: { val?: unknown; name?: string } }[] | undefined) ?? [];
  const extra = Object.keys(select?.node ?? {}).filter(
    (k) => !['targetList', 'limitOption', 'op'].includes(k),
  );
  if (statements.length !== 1 || select?.type !== 'SelectStmt' || targets.length !== 1 || extra.length > 0) {
    return { ok: false, reason: 'not one expression: it closes its parenthesis and adds SQL of its own' };
  }
  const used = new Set<string>();
  let nodes = 0;
  const build = new Builder(table, columns, used, () => {
    nodes++;
    if (nodes > MAX_NODES) throw new Refused(`more than ${MAX_NODES} nodes: a rule is one short condition`);
  });
  try {
    const sql = build.node(targets[0]?.ResTarget?.val);
    if (used.size === 0) return { ok: false, reason: `reads no column of ${table}` };
    return { ok: true, sql, columns: [...used] };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.message };
    throw error;
  }
}

/** Rebuilds SQL from the nodes it can prove safe, refusing the rest. */
class Builder {
  constructor(
    private readonly table: string,
    private readonly columns: readonly string[],
    private readonly used: Set<string>,
    private readonly count: () => void,
  ) {}

  node(value: unknown): string {
    this.count();
    if (value === null || typeof value !== 'object') throw new Refused('an empty expression');
    const [type, node] = Object.entries(value as PgNode)[0] as [string, PgNode];
    switch (type) {
      case 'ColumnRef':
        return this.column(node);
      case 'A_Const':
        return constant(node);
      case 'A_Expr':
        return this.operator(node);
      case 'BoolExpr': {
        const args = this.list(node.args);
        if (node.boolop === 'NOT_EXPR') return `(NOT ${args[0]})`;
        return `(${args.join(node.boolop === 'AND_EXPR' ? ' AND ' : ' OR ')})`;
      }
      case 'NullTest':
        return `(${this.node(node.arg)} ${node.nulltesttype === 'IS_NOT_NULL' ? 'IS NOT NULL' : 'IS NULL'})`;
      case 'BooleanTest': {
        const test = BOOLEAN_TESTS[String(node.booltesttype)];
        if (!test) throw new Refused(`the test ${String(node.booltesttype)} is not known`);
        return `(${this.node(node.arg)} ${test})`;
      }
      case 'TypeCast':
        return `CAST(${this.node(node.arg)} AS ${castType(node.typeName as PgNode)})`;
      case 'FuncCall':
        return this.call(node);
      case 'CoalesceExpr':
        return `COALESCE(${this.list(node.args).join(', ')})`;
      case 'MinMaxExpr':
        return `${node.op === 'IS_LEAST' ? 'LEAST' : 'GREATEST'}(${this.list(node.args).join(', ')})`;
      case 'CaseExpr': {
        const whens = ((node.args as { CaseWhen?: PgNode }[] | undefined) ?? []).map((w) => {
          if (!w.CaseWhen) throw new Refused('a CASE branch that is not WHEN ... THEN');
          return `WHEN ${this.node(w.CaseWhen.expr)} THEN ${this.node(w.CaseWhen.result)}`;
        });
        const subject = node.arg === undefined ? '' : ` ${this.node(node.arg)}`;
        const otherwise = node.defresult === undefined ? '' : ` ELSE ${this.node(node.defresult)}`;
        return `(CASE${subject} ${whens.join(' ')}${otherwise} END)`;
      }
      case 'SQLValueFunction': {
        const clock = CLOCK[String(node.op)];
        if (!clock)
          throw new Refused(
            `${String(node.op).replace(/^SVFOP_/, '')} is not a value of the row or the clock`,
          );
        return clock;
      }
      case 'A_ArrayExpr':
        return `ARRAY[${this.list(node.elements).join(', ')}]`;
      case 'SubLink':
        return refuse('a subquery: a proposed rule reads only the row’s own columns');
      case 'ParamRef':
        return refuse('a parameter ($n): a rule holds its values');
      default:
        return refuse(`a ${type}: not among the expressions the judge can prove safe`);
    }
  }

  private list(items: unknown): string[] {
    return ((items as unknown[] | undefined) ?? []).map((item) => this.node(item));
  }

  private column(node: PgNode): string {
    const fields = node.fields as { String?: { sval?: string }; A_Star?: unknown }[];
    if (fields.some((f) => f.A_Star !== undefined)) throw new Refused('a * reads every column: name them');
    const names = strings(fields);
    if (names.length === 2 && names[0] !== this.table) {
      throw new Refused(`${names.join('.')} reads another table than ${this.table}`);
    }
    if (names.length > 2 || names.length === 0)
      throw new Refused(`${names.join('.')} is not a column of ${this.table}`);
    const name = names.at(-1) ?? '';
    if (!this.columns.includes(name)) throw new Refused(`${this.table} has no column ${name}`);
    this.used.add(name);
    return `${quoteIdent(this.table)}.${quoteIdent(name)}`;
  }

  private operator(node: PgNode): string {
    const names = strings(node.name);
    const name = names.at(-1) ?? '';
    if (names.length > 2 || (names.length === 2 && names[0] !== 'pg_catalog'))
      throw new Refused(`the operator ${names.join('.')} is not PostgreSQL's own`);
    const left = node.lexpr === undefined ? undefined : () => this.node(node.lexpr);
    const right = () => this.node(node.rexpr);
    switch (node.kind) {
      case 'AEXPR_OP': {
        if (!OPERATORS.has(name)) throw new Refused(`the operator ${name} is not one the judge knows`);
        const op = `OPERATOR(pg_catalog.${name === '!=' ? '<>' : name})`;
        if (!left) {
          if (name !== '-' && name !== '+')
            throw new Refused(`the prefix operator ${name} is not one the judge knows`);
          return `(${op} ${right()})`;
        }
        return `(${left()} ${op} ${right()})`;
      }
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE':
        if (!LIKE.has(name) || !left) throw new Refused(`the operator ${name} is not one the judge knows`);
        return `(${left()} OPERATOR(pg_catalog.${name}) ${right()})`;
      case 'AEXPR_OP_ANY':
      case 'AEXPR_OP_ALL':
        if (!OPERATORS.has(name) || !left)
          throw new Refused(`the operator ${name} is not one the judge knows`);
        return `(${left()} OPERATOR(pg_catalog.${name === '!=' ? '<>' : name}) ${node.kind === 'AEXPR_OP_ANY' ? 'ANY' : 'ALL'} (${right()}))`;
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT':
        if (!left) throw new Refused('IS DISTINCT FROM without a left side');
        return `(${left()} IS ${node.kind === 'AEXPR_NOT_DISTINCT' ? 'NOT ' : ''}DISTINCT FROM ${right()})`;
      case 'AEXPR_NULLIF':
        if (!left) throw new Refused('NULLIF without its first argument');
        return `NULLIF(${left()}, ${right()})`;
      case 'AEXPR_IN': {
        if (!left || (name !== '=' && name !== '<>')) throw new Refused(`IN with the operator ${name}`);
        const items = (node.rexpr as { List?: { items?: unknown[] } }).List?.items;
        if (!items) throw new Refused('IN without a list of values');
        return `(${left()} ${name === '<>' ? 'NOT IN' : 'IN'} (${this.list(items).join(', ')}))`;
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM': {
        const bounds = (node.rexpr as { List?: { items?: unknown[] } }).List?.items ?? [];
        if (!left || bounds.length !== 2) throw new Refused('BETWEEN without its two bounds');
        const not = String(node.kind).includes('NOT') ? 'NOT ' : '';
        const symmetric = String(node.kind).endsWith('SYM') ? 'SYMMETRIC ' : '';
        const [low, high] = this.list(bounds);
        return `(${left()} ${not}BETWEEN ${symmetric}${low} AND ${high})`;
      }
      default:
        throw new Refused(
          `${String(node.kind).replace(/^AEXPR_/, '')} is not among the expressions the judge can prove safe`,
        );
    }
  }

  private call(node: PgNode): string {
    const names = strings(node.funcname);
    const name = names.at(-1) ?? '';
    const qualified = names.join('.');
    if (names.length > 2 || (names.length === 2 && names[0] !== 'pg_catalog')) {
      throw new Refused(`calls ${qualified}: only PostgreSQL's own functions are allowed`);
    }
    if (!FUNCTIONS.has(name)) {
      throw new Refused(
        `calls ${name}: not one of the built-in functions known to read only their arguments (volatile functions and functions with side effects are never run)`,
      );
    }
    for (const key of [
      'agg_star',
      'agg_distinct',
      'agg_order',
      'agg_filter',
      'over',
      'func_variadic',
      'agg_within_group',
    ]) {
      if (node[key] !== undefined && node[key] !== false)
        throw new Refused(`calls ${name} as an aggregate or window`);
    }
    return `pg_catalog.${name}(${this.list(node.args).join(', ')})`;
  }
}

function refuse(reason: string): never {
  throw new Refused(reason);
}

/** A constant as SQL: numbers checked as numbers, text as an escaped literal. */
function constant(node: PgNode): string {
  if (node.isnull === true) return 'NULL';
  if (node.ival !== undefined) return String(Number((node.ival as { ival?: number }).ival ?? 0));
  if (node.fval !== undefined) {
    const text = String((node.fval as { fval?: string }).fval ?? '');
    if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) throw new Refused(`the number ${text} is not one`);
    return text.startsWith('-') ? `(${text})` : text;
  }
  if (node.boolval !== undefined) return (node.boolval as { boolval?: boolean }).boolval ? 'TRUE' : 'FALSE';
  if (node.sval !== undefined) return literal(String((node.sval as { sval?: string }).sval ?? ''));
  throw new Refused('a constant of a kind the judge does not know (bits)');
}

/** A text literal that means the same whatever `standard_conforming_strings` says. */
function literal(text: string): string {
  if (text.includes('\0')) throw new Refused('a NUL character in a string');
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** A cast's target as `pg_catalog.<type>(<modifiers>)`, for the built-in types of the list. */
function castType(typeName: PgNode): string {
  const names = strings(typeName.names);
  const name = names.at(-1) ?? '';
  if ((names.length === 2 && names[0] !== 'pg_catalog') || names.length > 2 || !TYPES.has(name)) {
    throw new Refused(`a cast to ${names.join('.')}: only built-in scalar types are allowed`);
  }
  if (typeName.arrayBounds !== undefined) throw new Refused(`a cast to an array of ${name}`);
  const mods = ((typeName.typmods as PgNode[] | undefined) ?? []).map((m) => {
    const value = (m.A_Const as { ival?: { ival?: number } } | undefined)?.ival;
    if (value === undefined) throw new Refused(`a modifier of ${name} that is not a number`);
    return String(Number(value.ival ?? 0));
  });
  return `pg_catalog.${name}${mods.length > 0 ? `(${mods.join(', ')})` : ''}`;
}
