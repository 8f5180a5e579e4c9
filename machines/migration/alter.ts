/**
 * Reads the actions of an `ALTER TABLE` (add or drop a column, change a type, constraints, renames) from tokens.
 */
import { z } from 'zod';
import { hasSequence, isKeyword, isName, type Token } from '../lib/sql-text.js';
import { Reader } from './reader.js';

/** One action of an `ALTER TABLE`. */
export const AlterActionSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('add-column'),
    column: z.string(),
    notNull: z.boolean(),
    /** The default expression as written, if any. */
    default: z.string().nullable(),
    /** Every row gets its own value (volatile default, identity, serial, stored generated): a table rewrite. */
    perRow: z.boolean(),
  }),
  z.object({ kind: z.literal('drop-column'), column: z.string() }),
  z.object({ kind: z.literal('alter-type'), column: z.string(), type: z.string() }),
  z.object({ kind: z.literal('set-not-null'), column: z.string() }),
  z.object({ kind: z.literal('drop-not-null'), column: z.string() }),
  z.object({ kind: z.literal('set-default'), column: z.string() }),
  z.object({ kind: z.literal('drop-default'), column: z.string() }),
  z.object({
    kind: z.literal('add-constraint'),
    constraint: z.enum(['check', 'foreign-key', 'unique', 'primary-key', 'exclude', 'other']),
    notValid: z.boolean(),
    usingIndex: z.boolean(),
  }),
  z.object({ kind: z.literal('drop-constraint') }),
  z.object({ kind: z.literal('validate-constraint') }),
  z.object({ kind: z.literal('rename-column'), column: z.string(), to: z.string() }),
  z.object({ kind: z.literal('rename-table'), to: z.string() }),
  z.object({ kind: z.literal('other'), text: z.string() }),
]);
/** One action of an `ALTER TABLE`. */
export type AlterAction = z.infer<typeof AlterActionSchema>;

/** Functions whose value changes per row: a DEFAULT calling one makes ADD COLUMN rewrite the table. */
const VOLATILE = /\b(random|gen_random_uuid|uuid_generate_v[14]|clock_timestamp|timeofday|nextval)\s*\(/i;

/** Words that end a column's DEFAULT expression. */
const COLUMN_CLAUSES = [
  'not',
  'null',
  'constraint',
  'references',
  'check',
  'unique',
  'primary',
  'generated',
  'collate',
];

/** Reads the comma-separated actions of an `ALTER TABLE` (commas inside parentheses belong to the action). */
export function alterActions(r: Reader): AlterAction[] {
  const groups: Token[][] = [[]];
  let depth = 0;
  for (const token of r.tokens.slice(r.i)) {
    if (token.value === '(') depth++;
    if (token.value === ')') depth--;
    if (token.value === ',' && depth === 0) groups.push([]);
    else groups[groups.length - 1]!.push(token);
  }
  return groups.filter((g) => g.length > 0).map((g) => alterAction(new Reader(g)));
}

function alterAction(r: Reader): AlterAction {
  const text = r.rest();
  const other = (): AlterAction => ({ kind: 'other', text });
  if (r.accept('add')) {
    const named = r.accept('constraint') && r.name() !== undefined;
    const constraint = constraintKind(r.peek(), r.peek(1)) ?? (named ? 'other' : undefined);
    if (constraint) {
      return {
        kind: 'add-constraint',
        constraint,
        notValid: hasSequence(r.tokens, 'not', 'valid'),
        usingIndex: hasSequence(r.tokens, 'using', 'index'),
      };
    }
    r.accept('column');
    r.accept('if', 'not', 'exists');
    const column = r.peek();
    if (!isName(column)) return other();
    r.i++;
    const tokens = r.tokens.slice(r.i);
    const at = tokens.findIndex((t) => isKeyword(t, 'default'));
    let defaultText: string | null = null;
    if (at !== -1) {
      const end = tokens.findIndex((t, k) => k > at && isKeyword(t, ...COLUMN_CLAUSES));
      defaultText = tokens
        .slice(at + 1, end === -1 ? undefined : end)
        .map((t) => t.text)
        .join(' ');
    }
    const notNull = hasSequence(tokens, 'not', 'null');
    const perRow =
      VOLATILE.test(defaultText ?? '') ||
      hasSequence(tokens, 'as', 'identity') ||
      isKeyword(tokens[0], 'serial', 'bigserial', 'smallserial', 'serial4', 'serial8', 'serial2') ||
      tokens.some((t) => isKeyword(t, 'stored'));
    return { kind: 'add-column', column: column.value, notNull, default: defaultText, perRow };
  }
  if (r.accept('drop', 'constraint')) return { kind: 'drop-constraint' };
  if (r.accept('drop')) {
    r.accept('column');
    r.accept('if', 'exists');
    const column = r.peek();
    return isName(column) ? { kind: 'drop-column', column: column.value } : other();
  }
  if (r.accept('validate', 'constraint')) return { kind: 'validate-constraint' };
  if (r.accept('rename', 'to')) {
    const to = r.peek();
    return isName(to) ? { kind: 'rename-table', to: to.value } : other();
  }
  if (r.accept('rename', 'constraint')) return other();
  if (r.accept('rename')) {
    r.accept('column');
    const column = r.peek();
    const to = r.peek(2);
    return isName(column) && isKeyword(r.peek(1), 'to') && isName(to)
      ? { kind: 'rename-column', column: column.value, to: to.value }
      : other();
  }
  if (r.accept('alter')) {
    r.accept('column');
    const name = r.peek();
    if (!isName(name)) return other();
    r.i++;
    const column = name.value;
    if (r.accept('type') || r.accept('set', 'data', 'type')) {
      const end = r.tokens.findIndex((t, k) => k >= r.i && isKeyword(t, 'using', 'collate'));
      const type = r.tokens
        .slice(r.i, end === -1 ? undefined : end)
        .map((t) => t.text)
        .join(' ');
      return { kind: 'alter-type', column, type };
    }
    if (r.accept('set', 'not', 'null')) return { kind: 'set-not-null', column };
    if (r.accept('drop', 'not', 'null')) return { kind: 'drop-not-null', column };
    if (r.accept('set', 'default')) return { kind: 'set-default', column };
    if (r.accept('drop', 'default')) return { kind: 'drop-default', column };
  }
  return other();
}

function constraintKind(
  token: Token | undefined,
  next: Token | undefined,
): Extract<AlterAction, { kind: 'add-constraint' }>['constraint'] | undefined {
  if (isKeyword(token, 'check')) return 'check';
  if (isKeyword(token, 'foreign') && isKeyword(next, 'key')) return 'foreign-key';
  if (isKeyword(token, 'unique')) return 'unique';
  if (isKeyword(token, 'primary') && isKeyword(next, 'key')) return 'primary-key';
  if (isKeyword(token, 'exclude')) return 'exclude';
  return undefined;
}
