/**
 * The migration report, built from every step's result once the migration is applied and verified.
 */

import type { MigrationReport, Verification } from './schemas.js';
import { compareSnapshots, type Snapshot } from './snapshot.js';
import type { AppliedResults } from './verify.js';

/** The report of an applied migration; `now` is the schema after it. */
export function report(results: AppliedResults & { verify: Verification }, now: Snapshot): MigrationReport {
  const { plan, lint, approval, dryRun, apply, verify: verification } = results;
  const timing = (list: { index: number; ms: number }[], index: number) =>
    list.find((s) => s.index === index)?.ms ?? null;
  const nothing = plan.statements.length === 0;
  return {
    status: nothing ? 'nothing-to-migrate' : 'applied',
    schema: plan.schema,
    source: nothing || plan.proposed ? 'schema-analysis' : 'input',
    summary: nothing
      ? `Nothing to migrate in '${plan.schema}': no SQL given, and the schema analysis found no unindexed foreign key or duplicate index to fix`
      : plan.proposed
        ? `Applied ${plan.statements.length} lock-safe fix(es) the schema analysis proposed: ${plan.fixes.map((f) => f.id).join(', ')}`
        : results.judge?.rewrite?.status === 'taken'
          ? `Applied the lock-safe rewrite of the SQL given (${plan.statements.length} statement(s)), approved by ${approval?.by}`
          : `Applied ${plan.statements.length} statement(s)`,
    statements: plan.statements.map((s) => ({
      index: s.index,
      sql: s.sql,
      kind: s.operation.kind,
      lock: lint.locks.find((l) => l.statement === s.index)?.lock ?? null,
      dryRunMs: timing(dryRun.statements, s.index),
      applyMs: timing(apply.statements, s.index),
    })),
    findings: lint.findings,
    destructive: lint.destructive,
    rewrites: lint.rewrites,
    approval: approval ? { by: approval.by, source: approval.source } : null,
    dryRun: {
      durationMs: dryRun.durationMs,
      reversible: dryRun.reversible,
      revertProblem: dryRun.revertProblem,
    },
    apply: { appliedAt: apply.appliedAt, durationMs: apply.durationMs },
    changes: compareSnapshots(plan.before, now).map((d) => ({
      object: d.object,
      before: d.expected,
      after: d.actual,
    })),
    rowCounts: verification.rowCounts,
    backups: {
      kept: plan.keepBackups,
      tables: apply.undo.backups.map((b) => (plan.keepBackups ? b.backup : b.table)),
    },
    ...(results.judge?.explanation ? { explanation: results.judge.explanation } : {}),
    ...(results.judge?.rewrite ? { proposedRewrite: results.judge.rewrite } : {}),
  };
}
