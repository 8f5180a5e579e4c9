/**
 * The migration lint: what each statement destroys, rewrites and locks, judged from the parsed statements and the
 * schema before. `error` findings refuse the migration, `danger` ones (data can be lost) need a human approval,
 * `warning` and `info` ones are reported.
 */
import { z } from 'zod';
import { alterTable, type Lock, typeAdvice } from './lint-alter.js';
import { IRREVERSIBLE } from './lint-irreversible.js';
import { type PlannedStatement, tablesOf } from './parse.js';
import type { Snapshot } from './snapshot.js';

/** One lint finding, about one statement. */
export const LintFindingSchema = z.object({
  statement: z.number().int(),
  rule: z.string(),
  severity: z.enum(['error', 'danger', 'warning', 'info']),
  message: z.string(),
});
/** One lint finding. */
export type LintFinding = z.infer<typeof LintFindingSchema>;

/** The lock a statement takes on an existing table, by PostgreSQL's name for it. */
const LockSchema = z.enum([
  'ACCESS EXCLUSIVE',
  'SHARE ROW EXCLUSIVE',
  'SHARE',
  'SHARE UPDATE EXCLUSIVE',
  'ROW EXCLUSIVE',
]);

/** The lint's verdict. */
export const LintSchema = z.object({
  findings: z.array(LintFindingSchema),
  /** Some statement can lose data: the migration waits for a human approval. */
  destructive: z.boolean(),
  /** Some statement cannot run here (an `error` finding): the migration is refused. */
  blocked: z.boolean(),
  /** Statements that rewrite a whole table. */
  rewrites: z.number().int(),
  locks: z.array(z.object({ statement: z.number().int(), table: z.string(), lock: LockSchema })),
});
/** The lint's verdict. */
export type Lint = z.infer<typeof LintSchema>;

/** Statements PostgreSQL refuses inside a transaction block, by parse tree node. */
const NON_TRANSACTIONAL: Record<string, string> = {
  VacuumStmt: 'VACUUM',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  AlterSystemStmt: 'ALTER SYSTEM',
  ReindexStmt: 'REINDEX',
  ClusterStmt: 'CLUSTER',
};

/**
 * Statements that write rows the migration cannot back up (so a revert could not bring them back): refused, with
 * the way to write them instead.
 */
const UNRECOVERABLE: Record<string, string> = {
  DataModifyingWith:
    'A WITH clause that writes rows (DELETE, UPDATE, INSERT or MERGE inside WITH) cannot be checked or backed up: write each write as a statement of its own',
  MergeStmt: 'MERGE cannot be backed up for a revert: write it as INSERT, UPDATE and DELETE statements',
};

/**
 * Statements whose whole effect is a new object or a comment: nothing existing is lost or locked for long. Any
 * statement not here nor analysed below is not proven safe, so it needs an approval.
 */
const SAFE_STATEMENTS = new Set([
  'ViewStmt',
  'CommentStmt',
  'CreateSeqStmt',
  'CreateEnumStmt',
  'CreateDomainStmt',
  'CompositeTypeStmt',
  // ALTER INDEX ... ATTACH PARTITION: catalog only, the partition's index is already built.
  'AttachIndexPartition',
]);

/** Functions known to have no side effect: a SELECT or DML calling only these needs no approval for its calls. */
const PURE_FUNCTIONS = new Set([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'lower',
  'upper',
  'length',
  'coalesce',
  'nullif',
  'greatest',
  'least',
  'now',
  'current_date',
  'abs',
  'round',
  'trim',
  'btrim',
  'substring',
  'replace',
  'concat',
  'date_trunc',
  'to_char',
  'array_agg',
  'string_agg',
  'jsonb_build_object',
  'json_build_object',
  'md5',
  'gen_random_uuid',
]);

/** Settings a migration may change for itself: timeouts only (a role or a search path changes what runs where). */
const SAFE_SETTINGS = new Set(['lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout']);

/** Lints the statements of a migration of `before.schema`. */
export function lintMigration(statements: readonly PlannedStatement[], before: Snapshot): Lint {
  const findings: LintFinding[] = [];
  const locks: Lint['locks'] = [];
  let rewrites = 0;
  const table = (name: string) => before.tables.find((t) => t.name === name);
  const size = (name: string) => `${name} (~${Math.round(table(name)?.estimatedRows ?? 0)} rows)`;
  const notValid = new Set<string>();

  for (const { index, operation: op, schemas } of statements) {
    const add = (severity: LintFinding['severity'], rule: string, message: string) =>
      findings.push({ statement: index, rule, severity, message });
    const lock = (name: string, level: Lock) => {
      if (table(name)) locks.push({ statement: index, table: name, lock: level });
    };
    const refusedSchemas = new Set<string>();
    for (const name of tablesOf(op)) {
      if (name.schema !== null && name.schema !== before.schema) {
        refusedSchemas.add(name.schema);
        add(
          'error',
          'other-schema',
          `${name.schema}.${name.name} is outside schema ${before.schema}, which is the only one verified and reverted`,
        );
      }
    }
    // Anything else named in another schema (a view replaced, an index or enum value changed, a table read): what it
    // does there is neither verified nor reverted, so a human decides.
    const elsewhere = (schemas ?? []).filter((s) => s !== before.schema && !refusedSchemas.has(s));
    if (elsewhere.length > 0)
      add(
        'danger',
        'names-other-schema',
        `Names ${elsewhere.join(', ')}, outside schema ${before.schema}: what it does there is neither verified nor reverted, so it needs an approval`,
      );
    const unproven = (what: string) =>
      add(
        'danger',
        'unproven',
        `${what} is not proven safe (it can run any SQL, or do what the lint cannot check): it needs an approval`,
      );
    // A write runs the table's triggers and rules (what they write is neither checked nor backed up); a write
    // through a view writes its tables, which are not backed up as the view's.
    const writes = (name: string) => {
      if (before.views.some((v) => v.name === name))
        add(
          'error',
          'write-through-view',
          `${name} is a view: write to its tables instead, so that they are backed up`,
        );
      const triggers = table(name)?.triggers ?? [];
      if (triggers.length > 0)
        unproven(`A write to ${name}, which runs its triggers or rules (${triggers.join(', ')}),`);
    };
    switch (op.kind) {
      case 'transaction-control':
        add(
          'error',
          'transaction-control',
          `${op.keyword.toUpperCase()}: the template runs the migration in transactions of its own (a CONCURRENTLY statement or a VALIDATE gets its own)`,
        );
        break;
      case 'create-table':
        for (const c of op.columns) typeAdvice(`${op.table.name}.${c.name}`, c.type, { add });
        break;
      case 'drop-table':
        for (const t of op.tables) {
          add(
            'danger',
            'drop-table',
            `Drops ${table(t.name) ? size(t.name) : t.name} with its rows${op.cascade ? ', and with CASCADE whatever depends on it' : ''}`,
          );
          lock(t.name, 'ACCESS EXCLUSIVE');
        }
        break;
      case 'alter-table':
        // A CHECK or DEFAULT calling a function runs it on every row: a function can hold any SQL.
        impure(op.functions ?? [], unproven);
        for (const a of op.actions) {
          if (a.kind === 'add-constraint' && a.notValid && a.name) notValid.add(a.name);
          if (a.kind === 'validate-constraint' && notValid.has(a.name)) {
            add(
              'info',
              'validate-separately',
              `VALIDATE CONSTRAINT ${a.name} runs in a transaction of its own, after the one that added it NOT VALID commits`,
            );
          }
        }
        rewrites += alterTable(op.table.name, table(op.table.name), op.actions, { add, lock, size });
        break;
      case 'create-index':
        if (!op.concurrently && !op.only && table(op.table.name)) {
          add(
            'warning',
            'blocking-index',
            `Blocks writes to ${size(op.table.name)} while the index builds; use CREATE INDEX CONCURRENTLY (the template runs it outside a transaction)`,
          );
        }
        if (op.concurrently)
          add(
            'info',
            'concurrent-index',
            'Runs outside a transaction; an index left invalid by a failure is dropped',
          );
        lock(op.table.name, op.concurrently ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE');
        break;
      case 'drop-index':
        for (const i of op.indexes) {
          const on = before.tables.find((t) => t.indexes.some((x) => x.name === i.name))?.name;
          add(
            'warning',
            'drop-index',
            `Queries that used ${i.name}${on ? ` (on ${on})` : ''} may slow down${op.concurrently ? '' : '; DROP INDEX CONCURRENTLY does not block reads and writes'}`,
          );
          if (on) lock(on, op.concurrently ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE');
        }
        break;
      case 'truncate':
        for (const t of op.tables) {
          writes(t.name);
          add('danger', 'truncate', `Empties ${size(t.name)}`);
          lock(t.name, 'ACCESS EXCLUSIVE');
        }
        break;
      case 'delete':
      case 'update':
        writes(op.table.name);
        add(
          'danger',
          op.kind,
          `${op.kind === 'delete' ? 'Deletes rows of' : 'Overwrites values in'} ${size(op.table.name)}${op.where ? '' : ', every row (no WHERE)'}`,
        );
        lock(op.table.name, 'ROW EXCLUSIVE');
        impure(op.functions, unproven);
        break;
      case 'insert':
        writes(op.table.name);
        add('info', 'insert', `Adds rows to ${op.table.name}`);
        lock(op.table.name, 'ROW EXCLUSIVE');
        impure(op.functions, unproven);
        break;
      case 'select':
        if (op.into) unproven('SELECT INTO (creates a table)');
        impure(op.functions, unproven);
        break;
      case 'set':
        if (!SAFE_SETTINGS.has(op.name)) unproven(`SET ${op.name}`);
        break;
      case 'other': {
        const refused = NON_TRANSACTIONAL[op.statement];
        const unrecoverable = UNRECOVERABLE[op.statement];
        const irreversible = IRREVERSIBLE[op.statement];
        if (refused) add('error', 'non-transactional', `${refused} cannot run inside a transaction`);
        else if (unrecoverable) add('error', 'unrecoverable-write', unrecoverable);
        else if (irreversible) add('danger', 'irreversible', irreversible);
        else if (!SAFE_STATEMENTS.has(op.statement)) unproven(`${op.keywords} (${op.statement})`);
        break;
      }
    }
  }
  return {
    findings,
    destructive: findings.some((f) => f.severity === 'danger'),
    blocked: findings.some((f) => f.severity === 'error'),
    rewrites,
    locks,
  };
}

/** Functions not known pure make the statement unproven: a function can hold any SQL (a DELETE, a DROP). */
function impure(functions: readonly string[], unproven: (what: string) => void): void {
  const unknown = [...new Set(functions.filter((f) => !PURE_FUNCTIONS.has(f.replace(/^pg_catalog\./, ''))))];
  if (unknown.length > 0) unproven(`A call of ${unknown.join(', ')}`);
}
