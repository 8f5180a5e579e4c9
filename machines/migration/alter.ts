/**
 * The actions of an `ALTER TABLE` (add or drop a column, change a type, constraints, renames), read from
 * PostgreSQL's parse tree.
 */
import { z } from 'zod';
import { type PgNode, strings } from '../lib/pg-parser.js';

/** One action of an `ALTER TABLE`. */
export const AlterActionSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('add-column'),
    column: z.string(),
    /** The column's type as PostgreSQL names it (`integer`, `character varying(60)`, `serial`...). */
    type: z.string(),
    notNull: z.boolean(),
    /** What the default is (`constant`, `now()`, `random()`...), if any. */
    default: z.string().nullable(),
    /** Every row gets its own value (volatile default, identity, serial, stored generated): a table rewrite. */
    perRow: z.boolean(),
    /** The default calls a function whose volatility is not known here: it may rewrite the table. */
    unknownDefault: z.boolean(),
  }),
  /** `cascade`: `DROP ... CASCADE`, which also drops what depends on it (absent in results stored before it was read). */
  z.object({ kind: z.literal('drop-column'), column: z.string(), cascade: z.boolean().optional() }),
  z.object({ kind: z.literal('alter-type'), column: z.string(), type: z.string(), using: z.boolean() }),
  z.object({ kind: z.literal('set-not-null'), column: z.string() }),
  z.object({ kind: z.literal('drop-not-null'), column: z.string() }),
  z.object({ kind: z.literal('set-default'), column: z.string() }),
  z.object({ kind: z.literal('drop-default'), column: z.string() }),
  z.object({
    kind: z.literal('add-constraint'),
    constraint: z.enum(['check', 'foreign-key', 'unique', 'primary-key', 'exclude', 'other']),
    name: z.string().nullable(),
    notValid: z.boolean(),
    usingIndex: z.boolean(),
  }),
  z.object({ kind: z.literal('drop-constraint'), cascade: z.boolean().optional() }),
  z.object({ kind: z.literal('validate-constraint'), name: z.string() }),
  z.object({ kind: z.literal('rename-column'), column: z.string(), to: z.string() }),
  z.object({ kind: z.literal('rename-table'), to: z.string() }),
  z.object({ kind: z.literal('add-identity'), column: z.string() }),
  z.object({ kind: z.literal('other'), text: z.string() }),
]);
/** One action of an `ALTER TABLE`. */
export type AlterAction = z.infer<typeof AlterActionSchema>;

/** Functions whose value changes per row: a DEFAULT calling one makes ADD COLUMN rewrite the table. */
const VOLATILE = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
]);
/** Stable functions: evaluated once for an ADD COLUMN, so the default is stored in the catalog (no rewrite). */
const STABLE = new Set([
  'now',
  'current_timestamp',
  'transaction_timestamp',
  'statement_timestamp',
  'current_date',
]);

const SERIAL = new Set(['serial', 'bigserial', 'smallserial', 'serial2', 'serial4', 'serial8']);

/** PostgreSQL's display names of the internal type names the parser gives. */
const TYPE_NAMES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  varchar: 'character varying',
  bpchar: 'character',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  time: 'time without time zone',
  timetz: 'time with time zone',
};

/** A parse tree `TypeName` as `format_type` would print it (`character varying(120)`, `integer`, `text`). */
export function typeText(typeName: unknown): string {
  const t = typeName as { names?: unknown; typmods?: unknown[]; arrayBounds?: unknown[] } | undefined;
  const names = strings(t?.names).filter((n) => n !== 'pg_catalog');
  const base = names.join('.');
  const mods = (t?.typmods ?? []).map((m) =>
    String((m as { A_Const?: { ival?: { ival?: number } } }).A_Const?.ival?.ival ?? 0),
  );
  const display = TYPE_NAMES[base] ?? base;
  const withMods = mods.length > 0 ? `${display}(${mods.join(',')})` : display;
  return (t?.arrayBounds?.length ?? 0) > 0 ? `${withMods}[]` : withMods;
}

/** Reads the commands of an `AlterTableStmt`. */
export function alterActions(cmds: unknown): AlterAction[] {
  return (Array.isArray(cmds) ? cmds : []).map((c) =>
    alterAction((c as { AlterTableCmd: PgNode }).AlterTableCmd),
  );
}

function alterAction(cmd: PgNode): AlterAction {
  const subtype = String(cmd.subtype);
  const name = typeof cmd.name === 'string' ? cmd.name : '';
  const def = cmd.def as { ColumnDef?: PgNode; Constraint?: PgNode } | undefined;
  switch (subtype) {
    case 'AT_AddColumn':
      return def?.ColumnDef ? addColumn(def.ColumnDef) : { kind: 'other', text: subtype };
    case 'AT_DropColumn':
      return { kind: 'drop-column', column: name, cascade: cmd.behavior === 'DROP_CASCADE' };
    case 'AT_AlterColumnType':
      return {
        kind: 'alter-type',
        column: name,
        type: typeText(def?.ColumnDef?.typeName),
        using: def?.ColumnDef?.raw_default !== undefined,
      };
    case 'AT_SetNotNull':
      return { kind: 'set-not-null', column: name };
    case 'AT_DropNotNull':
      return { kind: 'drop-not-null', column: name };
    case 'AT_ColumnDefault':
      return { kind: cmd.def === undefined ? 'drop-default' : 'set-default', column: name };
    case 'AT_AddConstraint':
      return addConstraint(def?.Constraint ?? {});
    case 'AT_DropConstraint':
      return { kind: 'drop-constraint', cascade: cmd.behavior === 'DROP_CASCADE' };
    case 'AT_ValidateConstraint':
      return { kind: 'validate-constraint', name };
    case 'AT_AddIdentity':
      return { kind: 'add-identity', column: name };
    case 'AT_DetachPartition':
      // CONCURRENTLY commits twice on its own: it cannot run in the migration's transaction (the lint refuses it).
      return {
        kind: 'other',
        text: (cmd.def as { PartitionCmd?: { concurrent?: boolean } } | undefined)?.PartitionCmd?.concurrent
          ? 'DetachPartition CONCURRENTLY'
          : 'DetachPartition',
      };
    default:
      return { kind: 'other', text: subtype.replace(/^AT_/, '') };
  }
}

function addColumn(column: PgNode): AlterAction {
  const constraints = ((column.constraints as { Constraint: PgNode }[] | undefined) ?? []).map(
    (c) => c.Constraint,
  );
  const type = typeText(column.typeName);
  const expr = constraints.find((c) => c.contype === 'CONSTR_DEFAULT')?.raw_expr as PgNode | undefined;
  const call = expr?.FuncCall as { funcname?: unknown } | undefined;
  const fn = call ? (strings(call.funcname).at(-1) ?? '') : undefined;
  const defaultText = expr === undefined ? null : fn !== undefined ? `${fn}()` : describe(expr);
  const perRow =
    (fn !== undefined && VOLATILE.has(fn)) ||
    SERIAL.has(type) ||
    constraints.some(
      (c) =>
        c.contype === 'CONSTR_IDENTITY' ||
        (c.contype === 'CONSTR_GENERATED' && c.generated_when !== undefined),
    );
  return {
    kind: 'add-column',
    column: String(column.colname),
    type,
    notNull: constraints.some((c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY'),
    default: defaultText,
    perRow,
    unknownDefault: fn !== undefined && !VOLATILE.has(fn) && !STABLE.has(fn),
  };
}

function describe(expr: PgNode): string {
  const [type] = Object.keys(expr);
  if (type === 'A_Const' || type === 'TypeCast') return 'constant';
  if (type === 'SQLValueFunction') return 'current_timestamp';
  return type ?? 'expression';
}

function addConstraint(c: PgNode): AlterAction {
  const kinds: Record<string, Extract<AlterAction, { kind: 'add-constraint' }>['constraint']> = {
    CONSTR_CHECK: 'check',
    CONSTR_FOREIGN: 'foreign-key',
    CONSTR_UNIQUE: 'unique',
    CONSTR_PRIMARY: 'primary-key',
    CONSTR_EXCLUSION: 'exclude',
  };
  return {
    kind: 'add-constraint',
    constraint: kinds[String(c.contype)] ?? 'other',
    name: typeof c.conname === 'string' ? c.conname : null,
    notValid: c.skip_validation === true,
    usingIndex: typeof c.indexname === 'string',
  };
}
