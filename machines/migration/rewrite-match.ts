/**
 * Whether a rewrite does what the SQL given does, only more safely: every statement given must be in the rewrite,
 * equal as PostgreSQL parses it once the lock-safety choices are set aside (`CONCURRENTLY`, `NOT VALID`, a schema
 * qualification of the migration's own schema, a UNIQUE constraint built from an index made CONCURRENTLY first),
 * and every other statement of the rewrite must be a lock-safe helper: `VALIDATE CONSTRAINT`, a lock or statement
 * timeout, a new `CHECK ... NOT VALID`, or a new unique index built `CONCURRENTLY`, on a table the SQL given
 * changes. So a rewrite cannot index another column under the same index name, or change a constraint's condition.
 */
import { loadParser, type PgNode, parseSql } from '../lib/pg-parser.js';
import type { PlannedStatement } from './parse.js';
import type { Plan } from './schemas.js';

/** Settings a rewrite may add: how long its statements wait, nothing that changes what runs where. */
const TIMEOUTS = new Set(['lock_timeout', 'statement_timeout']);

/** Fields that say where a node was in the text, not what it does. */
const POSITIONS = new Set(['location', 'stmt_location', 'stmt_len', 'rexpr_list_start', 'rexpr_list_end']);

interface Parsed {
  readonly index: number;
  readonly sql: string;
  readonly type: string;
  readonly node: PgNode;
}

/**
 * Why the rewrite `statements` does not do what `plan`'s statements do, or null when it does.
 *
 * @example
 * ```ts
 * await sameStatements(plan, await parseMigration('CREATE INDEX CONCURRENTLY i ON t (other_column)'));
 * // 'statement 1 given (CREATE INDEX i ON t (a)) is not in the rewrite, ...'
 * ```
 */
export async function sameStatements(
  plan: Plan,
  statements: readonly PlannedStatement[],
): Promise<string | null> {
  await loadParser();
  const given = plan.statements.map(parsed);
  const rewrite = statements.map(parsed);
  const helperIndexes = new Map<string, unknown>();
  for (const s of rewrite) {
    if (s.type === 'IndexStmt' && s.node.unique === true && s.node.concurrent === true && s.node.idxname) {
      helperIndexes.set(String(s.node.idxname), s.node.indexParams);
    }
  }
  const canon = (s: Parsed) => JSON.stringify(normalize({ [s.type]: s.node }, plan.schema, helperIndexes));
  const unused = new Map(rewrite.map((s) => [s.index, canon(s)]));
  for (const s of given) {
    const wanted = canon(s);
    const match = [...unused].find(([, form]) => form === wanted);
    if (!match) {
      return `statement ${s.index + 1} given (${s.sql}) is not in the rewrite, even with CONCURRENTLY or NOT VALID: a rewrite may change how, not what`;
    }
    unused.delete(match[0]);
  }
  const tables = new Set(given.flatMap((s) => tableOf(s)));
  const existing = new Set(
    plan.before.tables.flatMap((t) => [...t.indexes.map((i) => i.name), ...t.constraints.map((c) => c.name)]),
  );
  for (const index of unused.keys()) {
    const s = rewrite[index];
    if (s && !helper(s, tables, existing)) {
      return `statement ${s.index + 1} of the rewrite (${s.sql}) is not in the SQL given and is not a lock-safe helper (VALIDATE CONSTRAINT, a timeout, a new CHECK NOT VALID or a new unique index built CONCURRENTLY on a table it changes)`;
    }
  }
  return null;
}

function parsed(statement: PlannedStatement): Parsed {
  const [first] = parseSql(statement.sql);
  return { index: statement.index, sql: statement.sql, type: first?.type ?? '', node: first?.node ?? {} };
}

function tableOf(s: Parsed): string[] {
  const relation = s.node.relation as { relname?: string } | undefined;
  return relation?.relname ? [relation.relname] : [];
}

/** A statement of the rewrite that only makes the others lock-safe. */
function helper(s: Parsed, tables: ReadonlySet<string>, existing: ReadonlySet<string>): boolean {
  if (s.type === 'VariableSetStmt') return TIMEOUTS.has(String(s.node.name));
  const onTable = tableOf(s).some((t) => tables.has(t));
  if (s.type === 'IndexStmt') {
    return (
      onTable && s.node.unique === true && s.node.concurrent === true && !existing.has(String(s.node.idxname))
    );
  }
  if (s.type !== 'AlterTableStmt' || !onTable) return false;
  const cmds = (s.node.cmds as { AlterTableCmd?: PgNode }[] | undefined) ?? [];
  return cmds.every(({ AlterTableCmd: cmd }) => {
    if (cmd?.subtype === 'AT_ValidateConstraint') return true;
    const constraint = (cmd?.def as { Constraint?: PgNode } | undefined)?.Constraint;
    return (
      cmd?.subtype === 'AT_AddConstraint' &&
      constraint?.contype === 'CONSTR_CHECK' &&
      constraint.skip_validation === true &&
      !existing.has(String(constraint.conname))
    );
  });
}

/** The tree without positions and lock-safety choices, so two ways of doing one change compare equal. */
function normalize(value: unknown, schema: string, helperIndexes: ReadonlyMap<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v, schema, helperIndexes));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as PgNode)) {
    if (POSITIONS.has(key)) continue;
    out[key] = normalize(child, schema, helperIndexes);
  }
  if ('relname' in out && out.schemaname === schema) delete out.schemaname;
  if ('idxname' in out || 'accessMethod' in out) delete out.concurrent;
  if ('removeType' in out) delete out.concurrent;
  if ('contype' in out) {
    delete out.skip_validation;
    delete out.initially_valid;
    const index = typeof out.indexname === 'string' ? helperIndexes.get(out.indexname) : undefined;
    if (index !== undefined) {
      // UNIQUE USING INDEX i, where i was built CONCURRENTLY on the same columns, is UNIQUE (columns).
      delete out.indexname;
      out.keys = (index as { IndexElem?: { name?: string } }[]).map((e) => ({
        String: { sval: e.IndexElem?.name ?? '' },
      }));
    }
  }
  return out;
}
