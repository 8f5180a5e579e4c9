/**
 * What the lint cannot see in the statements alone: rows of other schemas that a foreign key's action reaches from a
 * table the migration writes (found by the plan in the database's catalog). The migration may not touch another
 * schema, so those rows are neither backed up nor reverted: each is a danger, held for approval, and named.
 */
import type { Lint } from './lint.js';
import { tablesOf } from './parse.js';
import type { Plan } from './schemas.js';

/** The rows of other schemas a foreign key action reaches (not backed up, not reverted): each a danger, approved. */
export function withCascadesElsewhere(lint: Lint, plan: Plan): Lint {
  if (plan.cascadesElsewhere.length === 0) return lint;
  const action = (code: string) => ({ c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' })[code] ?? 'NO ACTION';
  const found = plan.cascadesElsewhere.map(({ table, through, onDelete, onUpdate }) => ({
    statement: plan.statements.find((s) => tablesOf(s.operation).some((n) => n.name === through))?.index ?? 0,
    rule: 'cascades-other-schema',
    severity: 'danger' as const,
    message: `rows of ${table} (another schema) change through its foreign key to ${through} (ON DELETE ${action(onDelete)}, ON UPDATE ${action(onUpdate)}): not backed up, a revert does not bring them back`,
  }));
  return { ...lint, findings: [...lint.findings, ...found], destructive: true };
}
