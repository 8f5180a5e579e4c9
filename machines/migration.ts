/**
 * The migration template: parse the target DDL with PostgreSQL's parser and lint it for data loss and locks, hold
 * destructive or unproven statements for a human approval (an escalation with a deadline), dry-run on a scratch
 * copy of the schema in a transaction that rolls back, apply in lock-safe transactions (a CONCURRENTLY statement
 * alone outside one, a VALIDATE after its NOT VALID commits, lock and statement timeouts), verify that the schema
 * is what the dry run produced and that row counts were kept, and revert (compensate) when the apply or the
 * verification fails.
 */
import { workflow } from '../src/index.js';
import { migrationAgents } from './migration/agents.js';
import { TRANSIENT } from './migration/execute.js';
import {
  type MigrationInput,
  MigrationInputSchema,
  type MigrationReport,
  MigrationReportSchema,
} from './migration/schemas.js';
import type { Template } from './template.js';

export { type MigrationAgentOptions, migrationAgents } from './migration/agents.js';
export { type Lint, type LintFinding, lintMigration } from './migration/lint.js';
export { type Operation, type PlannedStatement, parseMigration } from './migration/parse.js';
export type { MigrationInput, MigrationReport } from './migration/schemas.js';
export { compareSnapshots, type Snapshot, takeSnapshot } from './migration/snapshot.js';

/** Options of {@link migrationWorkflow}. */
export interface MigrationWorkflowOptions {
  /** How long a destructive migration waits for a human decision before it fails. @default 3600000 (an hour) */
  readonly approvalTimeoutMs?: number;
  /** Per-attempt bound of the dry run and the apply. @default 600000 */
  readonly stepTimeoutMs?: number;
}

/** Lock timeouts and deadlocks are retried; the transaction rolled back, so another attempt starts clean. */
const transientRetry = { attempts: 3, initialMs: 500, retryOn: TRANSIENT };

/**
 * Builds the migration workflow. Its output is a {@link MigrationReport}; a failed apply or verification ends
 * the run `compensated`, with the schema reverted, and rejects with the failure (a revert that fails too ends it
 * `failed`, with the revert's failure on the error's `compensationErrors`).
 *
 * @example
 * ```ts
 * const wf = migrationWorkflow({ approvalTimeoutMs: 15 * 60_000 });
 * const run = createEngine({ agents: migrationAgents(db) }).start(wf, { sql: 'DROP TABLE audit_log' });
 * run.resolveEscalation('approval', { action: 'skip', value: { approved: true, by: 'ana' } });
 * ```
 */
export function migrationWorkflow(options: MigrationWorkflowOptions = {}) {
  const timeoutMs = options.stepTimeoutMs ?? 600_000;
  return (
    workflow<MigrationInput, MigrationReport>('migration', {
      description:
        'Plans and lints target DDL, waits for approval of destructive changes, dry-runs, applies, verifies, reverts on failure',
      input: MigrationInputSchema,
      output: MigrationReportSchema,
      result: 'results.report',
    })
      .step('plan', {
        agent: 'migration-plan',
        description: 'Split the DDL, read what each statement does, snapshot the schema and count rows',
      })
      .step('lint', {
        agent: 'migration-lint',
        input: 'results.plan',
        description:
          'Flag destructive and unproven statements, table rewrites and locks, with the lock-safe way',
      })
      .step('rewrite', {
        agent: 'migration-rewrite',
        input: 'results',
        description:
          'Propose a lock-safe rewrite of what the lint flagged (none by default; an LLM when one is plugged in) and explain the risks',
      })
      .step('judge', {
        agent: 'migration-judge',
        input: 'results',
        description:
          'Take a rewrite only if it parses, the lint proves it strictly safer and it changes the same objects; it is then held for approval',
      })
      // A migration Flowstate wrote (no SQL given, or a rewrite taken) is dry-run first, so the approval shows what it would do.
      .branch('proposal', [
        {
          when: 'results.judge.preview',
          then: (b) =>
            b.step('preview', {
              agent: 'migration-dry-run',
              input: 'results',
              description: 'Dry-run the proposed fixes on a scratch copy of the schema, before the approval',
              retry: transientRetry,
              timeoutMs,
            }),
        },
        { otherwise: () => {} },
      ])
      .branch('gate', [
        {
          when: 'results.judge.lint.destructive',
          then: (b) =>
            b.step('approval', {
              agent: 'migration-approval',
              input: 'results',
              description: 'Destructive or unproven statements wait for a human approval',
              escalate: { to: 'human', timeoutMs: options.approvalTimeoutMs ?? 3_600_000, onTimeout: 'fail' },
            }),
        },
        // Nothing destructive: nothing to approve.
        { otherwise: () => {} },
      ])
      .step('dryRun', {
        agent: 'migration-dry-run',
        input: 'results',
        description:
          'Run the migration and its revert on a scratch copy of the schema, in a transaction that rolls back',
        retry: transientRetry,
        timeoutMs,
      })
      .step('apply', {
        agent: 'migration-apply',
        input: 'results',
        description: 'Apply the migration in lock-safe transactions, backing up what it can lose',
        retry: transientRetry,
        timeoutMs,
        compensate: 'migration-revert',
        onError: 'compensate',
      })
      .step('verify', {
        agent: 'migration-verify',
        input: 'results',
        description: 'Check the schema is what the dry run produced and row counts were kept',
        onError: 'compensate',
      })
      .step('report', {
        agent: 'migration-report',
        input: 'results',
        description: 'Drop the backups and report',
      })
      .build()
  );
}

/** The migration workflow with its default deadlines. */
export const migration = migrationWorkflow();

/** The CLI registry entry of the migration. */
export const template: Template<MigrationInput, MigrationReport> = {
  id: 'migration',
  description: 'Lint, approve, dry-run on a scratch copy, apply lock-safe DDL and verify; revert on failure',
  definition: migration,
  agents: (db) => migrationAgents(db),
  // No SQL: the lock-safe fixes the schema analysis finds on this database, dry-run on a scratch copy and held for
  // approval; or "nothing to migrate".
  exampleInput: {},
};
