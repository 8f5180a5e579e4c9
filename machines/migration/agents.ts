/**
 * The default agents of the migration: they plan, lint, dry-run, apply, verify and revert on a real database.
 * Each validates what it receives and returns; the migration's own SQL is the only text that runs as given, and
 * it only ever runs inside a transaction (rolled back for the dry run).
 */
import { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import type { AgentRegistry } from '../../src/index.js';
import { defineAgent } from '../lib/agent.js';
import { rolledBack } from '../lib/tx.js';
import { applyInPhases, scopeOf } from './apply-phases.js';
import { backupPrefix, backupTables, dropBackups } from './backup.js';
import { MigrationError } from './errors.js';
import { countRows, elapsed, runInSchema, setLockTimeout } from './execute.js';
import { judgeAgent } from './judge-agent.js';
import { lintAgent } from './lint-agent.js';
import { inTransaction, phasesOf } from './phases.js';
import { planMigration, renamedTo } from './plan.js';
import { report } from './report.js';
import { message, revertInside, revertMigration, type UndoData } from './revert.js';
import { effective, templatedRewrite } from './rewrite.js';
import {
  type Applied,
  ApplySchema,
  ApprovalSchema,
  DryRunSchema,
  MigrationInputSchema,
  MigrationReportSchema,
  PlanSchema,
  ResultsSchema,
  RevertReportSchema,
  RewriteSchema,
  VerificationSchema,
} from './schemas.js';
import { asLive, copySchema, retarget, scratchName } from './scratch.js';
import { tablesWithRows } from './scratch-rows.js';
import {
  databaseSequences,
  refuseSequenceCalls,
  refuseUncopiedSequences,
  sequencesMovedBack,
} from './scratch-sequences.js';
import { refuseUncopiedTypes } from './scratch-types-refuse.js';
import { takeSnapshot } from './snapshot.js';
import { readDomains } from './snapshot-domains.js';
import { readEnums } from './snapshot-enums.js';
import { verify } from './verify.js';

/** Options of {@link migrationAgents}. */
export interface MigrationAgentOptions {
  /** Bounds every statement of the dry run, the apply and the revert. @default 60000 */
  readonly statementTimeoutMs?: number;
  /** How long a statement waits for a lock before giving up (then the step retries). @default 5000 */
  readonly lockTimeoutMs?: number;
  /**
   * Where the dry run runs: `scratch`, on a copy of the schema made in a rolled-back transaction (the target's
   * tables are only read), or `live`, on the target's tables in a rolled-back transaction (faster on a large
   * schema, but it holds the migration's locks on them while it runs). @default 'scratch'
   */
  readonly dryRun?: 'scratch' | 'live';
}

/**
 * The default agents of the migration template, working on `db`.
 *
 * @example
 * ```ts
 * const run = createEngine({ agents: migrationAgents(db) }).start(migration, { sql: 'ALTER TABLE t ADD COLUMN c int' });
 * const report = await run.result;
 * ```
 */
export function migrationAgents(db: Database, options: MigrationAgentOptions = {}): AgentRegistry {
  const statementTimeoutMs = options.statementTimeoutMs ?? 60_000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
  const scratch = (options.dryRun ?? 'scratch') === 'scratch';
  return {
    'migration-plan': defineAgent({
      name: 'migration-plan',
      input: MigrationInputSchema,
      output: PlanSchema,
      run: (input) => planMigration(db, input),
    }),
    'migration-lint': lintAgent(),
    // The seam: no rewrite by default (the lint's findings carry its advice), and the risks from the lint's findings.
    'migration-rewrite': defineAgent({
      name: 'migration-rewrite',
      input: ResultsSchema,
      output: RewriteSchema,
      run: ({ plan, lint }) => templatedRewrite(plan, lint),
    }),
    'migration-judge': judgeAgent(db),
    'migration-approval': defineAgent({
      name: 'migration-approval',
      input: ResultsSchema,
      output: ApprovalSchema,
      run: (results) => {
        const { plan, lint, preview, judge } = effective(results);
        const risks = judge?.explanation
          ? ` Risks, as the migration-rewrite agent explains them: ${judge.explanation}`
          : '';
        if (judge?.rewrite?.status === 'taken') {
          const dryRun = preview
            ? `dry run of the rewrite on a scratch copy: ${preview.durationMs} ms, ${preview.reversible ? 'reversible' : `not reversible (${preview.revertProblem})`}`
            : 'not dry-run';
          throw new MigrationError(
            'APPROVAL_REQUIRED',
            `Rewritten migration (${judge.rewrite.reason}): ${plan.statements.map((s) => s.sql).join('; ')}. Instead of the SQL given: ${results.plan.statements.map((s) => s.sql).join('; ')}. ${dryRun}. Approve with resolveEscalation('approval', { action: 'skip', value: { approved: true, by } }), or abort.${risks}`,
          );
        }
        if (plan.approvedBy !== null)
          return { approved: true, by: plan.approvedBy, source: 'input' as const };
        if (plan.proposed) {
          const dryRun = preview
            ? `dry run on a scratch copy: ${preview.durationMs} ms, ${preview.reversible ? 'reversible' : `not reversible (${preview.revertProblem})`}`
            : 'not dry-run';
          throw new MigrationError(
            'APPROVAL_REQUIRED',
            `Proposed migration (no SQL given) fixing ${plan.fixes.length} schema analysis finding(s) in '${plan.schema}': ${plan.statements.map((s) => s.sql).join('; ')}. ${dryRun}. Approve with resolveEscalation('approval', { action: 'skip', value: { approved: true, by } }) or "approvedBy" in the input, or abort.${risks}`,
          );
        }
        const dangers = lint.findings.filter((f) => f.severity === 'danger');
        // Failing is how a step asks for a human: the escalation holds the run until a decision or the deadline.
        throw new MigrationError(
          'APPROVAL_REQUIRED',
          `Destructive migration: ${dangers.map((f) => `statement ${f.statement + 1}: ${f.message}`).join('; ')}. Approve with resolveEscalation('approval', { action: 'skip', value: { approved: true, by } }), or abort.${risks}`,
        );
      },
    }),
    'migration-dry-run': defineAgent({
      name: 'migration-dry-run',
      input: ResultsSchema,
      output: DryRunSchema,
      run: async (results, ctx) => {
        const { plan } = effective(results);
        const started = performance.now();
        if (plan.statements.length === 0) {
          // Nothing to migrate: nothing to try.
          const rows = plan.rows;
          return {
            durationMs: 0,
            statements: [],
            expected: plan.before,
            rows,
            reversible: true,
            revertProblem: null,
          };
        }
        // Refused before anything runs: a setval or nextval that could reach a sequence of the database (neither
        // is rolled back).
        await refuseSequenceCalls(plan.statements, plan.schema, scratch);
        return rolledBack(
          db,
          async (tx) => {
            await setLockTimeout(tx, lockTimeoutMs);
            // On a scratch copy the target's tables are only read (ACCESS SHARE); `live` runs on them.
            const target = scratch ? scratchName(ctx.workflowId) : plan.schema;
            // The schema's types the copy has not (a function's, an extension's...), with why.
            let uncopiedTypes: ReadonlyMap<string, string> = new Map();
            if (scratch) {
              const rowsOf = await tablesWithRows(tx, plan.schema, plan.statements);
              ({ uncopiedTypes } = await copySchema(tx, plan.schema, target, rowsOf));
              await refuseUncopiedSequences(tx, plan.statements, plan.schema, target);
              // Refused before any statement runs: a change to a type the copy has not would change the target's.
              await refuseUncopiedTypes(plan.statements, plan.schema, uncopiedTypes);
            }
            const before = await takeSnapshot(tx, target);
            const backups = await backupTables(
              tx,
              before,
              plan.backupTables,
              `${backupPrefix(ctx.workflowId)}d`,
            );
            const runnable = await inTransaction(plan.statements);
            const sequencesBefore = await databaseSequences(tx, scratch ? [target] : []);
            const statements = await runInSchema(
              tx,
              target,
              scratch ? await retarget(runnable, plan.schema, target) : runnable,
              // Functions are not copied, nor some types: they resolve in the target's schema.
              scratch ? [plan.schema] : [],
            );
            // What the checks above could not see (a function of the database's setting a sequence back).
            await sequencesMovedBack(tx, sequencesBefore);
            const after = await takeSnapshot(tx, target);
            // A label the statements add to a copied enum type is added to the copy: the revert tried below fails on
            // it, naming it (`irreversibleLeft`). The types not copied are the target's, as they are (unchanged).
            const isUncopied = (t: { name: string }) => uncopiedTypes.has(t.name);
            const expected = scratch
              ? await asLive(tx, after, plan.schema, target, {
                  enums: (await readEnums(tx, plan.schema)).filter(isUncopied),
                  domains: (await readDomains(tx, plan.schema)).filter(isUncopied),
                })
              : after;
            const tables = plan.rows.map((r) => renamedTo(r.table, plan.renames));
            const rows = await countRows(
              tx,
              target,
              tables,
              after.tables.map((t) => t.name),
            );
            const durationMs = elapsed(started);
            const undo: UndoData = {
              schema: target,
              scope: scopeOf(before, after, plan),
              before,
              renames: plan.renames,
              backups,
            };
            // The revert is tried here too, so the report says before applying whether the change can be undone.
            let revertProblem: string | null = null;
            await tx
              .transaction((sp) => revertInside(sp, undo))
              .catch((error: unknown) => {
                revertProblem = message(error);
              });
            return {
              durationMs,
              statements,
              expected,
              rows,
              reversible: revertProblem === null,
              revertProblem,
            };
          },
          { statementTimeoutMs },
        );
      },
    }),
    'migration-apply': defineAgent({
      name: 'migration-apply',
      input: ResultsSchema,
      output: ApplySchema,
      run: async (results, ctx): Promise<Applied> => {
        const { plan, lint, approval } = effective(results);
        if (lint.destructive && approval?.approved !== true) {
          throw new MigrationError(
            'MIGRATION_NOT_APPROVED',
            'The migration is destructive and was not approved',
          );
        }
        // A migration the dry run could not revert is applied only by someone who said so: if it fails later, its
        // changes stay.
        const { dryRun } = results;
        if (dryRun && !dryRun.reversible && approval?.approved !== true && plan.approvedBy === null) {
          throw new MigrationError(
            'MIGRATION_NOT_REVERSIBLE',
            `The dry run could not revert this migration (${dryRun.revertProblem ?? 'unknown'}); it is applied only with an approval ("approvedBy" in the input)`,
          );
        }
        const started = performance.now();
        if (plan.statements.length === 0) {
          const undo = { schema: plan.schema, scope: [], before: plan.before, renames: [], backups: [] };
          return { appliedAt: new Date().toISOString(), durationMs: 0, statements: [], undo };
        }
        const phases = phasesOf(plan.statements);
        const [first] = phases;
        if (phases.length > 1 || first?.transactional === false) {
          return applyInPhases(db, plan, phases, backupPrefix(ctx.workflowId), {
            lockTimeoutMs,
            statementTimeoutMs,
            schema: plan.schema,
          });
        }
        return db.transaction(
          async (tx) => {
            await setLockTimeout(tx, lockTimeoutMs);
            const before = await takeSnapshot(tx, plan.schema);
            const backups = await backupTables(tx, before, plan.backupTables, backupPrefix(ctx.workflowId));
            const statements = await runInSchema(tx, plan.schema, plan.statements);
            const after = await takeSnapshot(tx, plan.schema);
            return {
              appliedAt: new Date().toISOString(),
              durationMs: elapsed(started),
              statements,
              undo: {
                schema: plan.schema,
                scope: scopeOf(before, after, plan),
                before,
                renames: plan.renames,
                backups,
              },
            };
          },
          { statementTimeoutMs },
        );
      },
    }),
    'migration-verify': defineAgent({
      name: 'migration-verify',
      input: ResultsSchema.required({ dryRun: true, apply: true }),
      output: VerificationSchema,
      run: (results) => verify(db, effective(results)),
    }),
    'migration-revert': defineAgent({
      name: 'migration-revert',
      input: z.object({ output: ApplySchema }),
      output: RevertReportSchema,
      run: async ({ output }, ctx) => {
        const result = await revertMigration(db, output.undo, { statementTimeoutMs, lockTimeoutMs });
        ctx.logger.warn(
          { statements: result.statements, restoredRows: result.restoredRows },
          'migration reverted',
        );
        return { reverted: true, ...result };
      },
    }),
    'migration-report': defineAgent({
      name: 'migration-report',
      input: ResultsSchema.required({ dryRun: true, apply: true, verify: true }),
      output: MigrationReportSchema,
      run: async (results) => {
        const backups = results.apply.undo.backups;
        if (!results.plan.keepBackups) await dropBackups(db, backups);
        const judged = effective(results);
        return report(judged, await takeSnapshot(db, judged.plan.schema));
      },
    }),
  };
}
