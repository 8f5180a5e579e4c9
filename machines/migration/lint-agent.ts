/**
 * The `migration-lint` agent: the lint of the plan's statements, with what only the plan knows added to it (rows of
 * other schemas a foreign key reaches, a migration Flowstate proposed rather than a person). It refuses a migration
 * with an `error` finding here, so nothing of it is dry-run or applied.
 */
import { defineAgent } from '../lib/agent.js';
import { MigrationError } from './errors.js';
import { LintSchema, lintMigration } from './lint.js';
import { withCascadesElsewhere } from './lint-cascades.js';
import { PlanSchema } from './schemas.js';

/** The default `migration-lint` agent: it needs no database, the plan carries the schema before. */
export function lintAgent() {
  return defineAgent({
    name: 'migration-lint',
    input: PlanSchema,
    output: LintSchema,
    run: (plan) => {
      const lint = withCascadesElsewhere(lintMigration(plan.statements, plan.before), plan);
      if (plan.proposed) {
        // Flowstate wrote it, no person did: a human approves it (or `approvedBy` does) before it runs.
        return {
          ...lint,
          destructive: true,
          findings: [
            ...lint.findings,
            {
              statement: 0,
              rule: 'proposed',
              severity: 'danger' as const,
              message: `proposed from this database's schema analysis (${plan.fixes.map((f) => f.id).join(', ')}), not written by a person: held for approval`,
            },
          ],
        };
      }
      if (lint.blocked) {
        const errors = lint.findings.filter((f) => f.severity === 'error');
        throw new MigrationError(
          'MIGRATION_REFUSED',
          `The migration cannot run: ${errors.map((f) => `statement ${f.statement + 1}: ${f.message}`).join('; ')}`,
        );
      }
      return lint;
    },
  });
}
