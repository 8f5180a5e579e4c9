/**
 * The migration lint: what each statement destroys, rewrites and locks, judged from the parsed statements and the
 * schema before. `error` findings refuse the migration, `danger` ones (data can be lost) need a human approval,
 * `warning` and `info` ones are reported.
 */
import { z } from 'zod';
import { type AlterAction, type PlannedStatement, tablesOf } from './parse.js';
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
type Lock = z.infer<typeof LockSchema>;

/** Statements PostgreSQL refuses inside a transaction block. */
const NON_TRANSACTIONAL = [
  'vacuum',
  'create database',
  'drop database',
  'alter system',
  'reindex',
  'cluster',
];

/** Lints the statements of a migration of `before.schema`. */
export function lintMigration(statements: readonly PlannedStatement[], before: Snapshot): Lint {
  const findings: LintFinding[] = [];
  const locks: Lint['locks'] = [];
  let rewrites = 0;
  const rows = (table: string) => before.tables.find((t) => t.name === table)?.estimatedRows;
  const exists = (table: string) => rows(table) !== undefined;
  const size = (table: string) => `${table} (~${Math.round(rows(table) ?? 0)} rows)`;

  for (const { index, operation: op } of statements) {
    const add = (severity: LintFinding['severity'], rule: string, message: string) =>
      findings.push({ statement: index, rule, severity, message });
    const lock = (table: string, level: Lock) => {
      if (exists(table)) locks.push({ statement: index, table, lock: level });
    };
    for (const name of tablesOf(op)) {
      if (name.schema !== null && name.schema !== before.schema) {
        add(
          'error',
          'other-schema',
          `${name.schema}.${name.name} is outside schema ${before.schema}, which is the only one verified and reverted`,
        );
      }
    }
    switch (op.kind) {
      case 'transaction-control':
        add(
          'error',
          'transaction-control',
          `${op.keyword.toUpperCase()}: the template runs the whole migration in one transaction of its own`,
        );
        break;
      case 'create-table':
        break;
      case 'drop-table':
        for (const t of op.tables) {
          add(
            'danger',
            'drop-table',
            `Drops ${exists(t.name) ? size(t.name) : t.name} with its rows${op.cascade ? ', and with CASCADE whatever depends on it' : ''}`,
          );
          lock(t.name, 'ACCESS EXCLUSIVE');
        }
        break;
      case 'alter-table':
        rewrites += alterTable(op.table.name, op.actions, { add, lock, exists, size });
        break;
      case 'create-index':
        if (op.concurrently) {
          add(
            'error',
            'non-transactional',
            'CREATE INDEX CONCURRENTLY cannot run inside a transaction; drop CONCURRENTLY (the index then blocks writes while it builds)',
          );
        } else if (exists(op.table.name) && (rows(op.table.name) ?? 0) > 0) {
          add('warning', 'blocking-index', `Blocks writes to ${size(op.table.name)} while the index builds`);
        }
        lock(op.table.name, op.concurrently ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE');
        break;
      case 'drop-index':
        if (op.concurrently)
          add('error', 'non-transactional', 'DROP INDEX CONCURRENTLY cannot run inside a transaction');
        for (const index of op.indexes) {
          const table = before.tables.find((t) => t.indexes.some((i) => i.name === index.name))?.name;
          add(
            'warning',
            'drop-index',
            `Queries that used ${index.name}${table ? ` (on ${table})` : ''} may slow down`,
          );
          if (table) lock(table, 'ACCESS EXCLUSIVE');
        }
        break;
      case 'truncate':
        for (const t of op.tables) {
          add('danger', 'truncate', `Empties ${size(t.name)}`);
          lock(t.name, 'ACCESS EXCLUSIVE');
        }
        break;
      case 'delete':
      case 'update':
        add(
          'danger',
          op.kind,
          `${op.kind === 'delete' ? 'Deletes rows of' : 'Overwrites values in'} ${size(op.table.name)}${op.where ? '' : ', every row (no WHERE)'}`,
        );
        lock(op.table.name, 'ROW EXCLUSIVE');
        break;
      case 'insert':
        add('info', 'insert', `Adds rows to ${op.table.name}`);
        lock(op.table.name, 'ROW EXCLUSIVE');
        break;
      case 'other':
        if (NON_TRANSACTIONAL.some((k) => op.keywords.startsWith(k))) {
          add('error', 'non-transactional', `${op.keywords.toUpperCase()} cannot run inside a transaction`);
        } else if (op.keywords.startsWith('drop') || op.keywords.startsWith('alter')) {
          add(
            'danger',
            'unanalysed-change',
            `${op.keywords.toUpperCase()} is not analysed: its effect cannot be checked nor undone beyond tables, columns, constraints, indexes and views`,
          );
        } else {
          add('info', 'unanalysed', `${op.keywords.toUpperCase()} is not analysed`);
        }
        break;
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

interface Helpers {
  add(severity: LintFinding['severity'], rule: string, message: string): void;
  lock(table: string, level: Lock): void;
  exists(table: string): boolean;
  size(table: string): string;
}

/** Lints the actions of one `ALTER TABLE`; returns how many rewrite the table. */
function alterTable(table: string, actions: readonly AlterAction[], h: Helpers): number {
  let rewrites = 0;
  let level: Lock = 'SHARE UPDATE EXCLUSIVE';
  const raise = (to: Lock) => {
    const order: Lock[] = ['SHARE UPDATE EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'ACCESS EXCLUSIVE'];
    if (order.indexOf(to) > order.indexOf(level)) level = to;
  };
  const populated = h.exists(table);
  for (const action of actions) {
    switch (action.kind) {
      case 'add-column': {
        raise('ACCESS EXCLUSIVE');
        if (populated && action.perRow) {
          rewrites++;
          h.add(
            'warning',
            'table-rewrite',
            `Adding ${action.column} with a per-row default rewrites ${h.size(table)}`,
          );
        }
        if (populated && action.notNull && action.default === null) {
          h.add(
            'warning',
            'not-null-without-default',
            `${action.column} is NOT NULL without a default: this fails if ${table} has rows`,
          );
        }
        break;
      }
      case 'drop-column':
        raise('ACCESS EXCLUSIVE');
        h.add('danger', 'drop-column', `Drops ${table}.${action.column} and its values`);
        break;
      case 'alter-type':
        raise('ACCESS EXCLUSIVE');
        rewrites++;
        h.add(
          'danger',
          'alter-type',
          `Changes ${table}.${action.column} to ${action.type}: values may be cast with loss or rejected`,
        );
        h.add('warning', 'table-rewrite', `Changing a column type rewrites ${h.size(table)} and its indexes`);
        break;
      case 'set-not-null':
        raise('ACCESS EXCLUSIVE');
        h.add(
          'warning',
          'full-scan-under-lock',
          `SET NOT NULL scans ${h.size(table)} while holding an ACCESS EXCLUSIVE lock; a CHECK (${action.column} IS NOT NULL) NOT VALID, validated separately, avoids it`,
        );
        break;
      case 'add-constraint':
        raise(action.constraint === 'foreign-key' ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE');
        if (
          populated &&
          (action.constraint === 'check' || action.constraint === 'foreign-key') &&
          !action.notValid
        ) {
          h.add(
            'warning',
            'validating-constraint',
            `Checks every row of ${h.size(table)} under the lock; add it NOT VALID, then VALIDATE CONSTRAINT`,
          );
        }
        if (
          populated &&
          (action.constraint === 'unique' || action.constraint === 'primary-key') &&
          !action.usingIndex
        ) {
          h.add(
            'warning',
            'index-build-under-lock',
            `Builds a unique index on ${h.size(table)} while holding an ACCESS EXCLUSIVE lock`,
          );
        }
        break;
      case 'validate-constraint':
        break;
      case 'other':
        raise('ACCESS EXCLUSIVE');
        h.add('info', 'unanalysed', `ALTER TABLE ${table} ${action.text} is not analysed`);
        break;
      default:
        raise('ACCESS EXCLUSIVE');
    }
  }
  h.lock(table, level);
  return rewrites;
}
