/** migration's LLM seam: the `migration-rewrite` step on a model, judged by `migration-judge` (the lint). */
import { llmAgent } from '../../src/ai/index.js';
import type { Lint } from '../migration/lint.js';
import { tablesOf } from '../migration/parse.js';
import { type Plan, type Rewrite, RewriteSchema } from '../migration/schemas.js';
import type { Model } from './model.js';

/** What the `rewrite` step receives: the plan (statements, the schema before) and the lint's findings. */
interface RewriteInput {
  readonly plan: Plan;
  readonly lint: Lint;
}

const REWRITE_SYSTEM = [
  'You review a PostgreSQL migration that a lint flagged, for the person who must approve it.',
  'In "sql", give the whole migration rewritten in its lock-safe form when one exists, else null:',
  '- CREATE INDEX becomes CREATE INDEX CONCURRENTLY; DROP INDEX becomes DROP INDEX CONCURRENTLY;',
  '- ADD CONSTRAINT ... CHECK/FOREIGN KEY becomes ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT as its own statement;',
  '- a UNIQUE constraint: CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX.',
  'Change the same tables, columns, indexes and constraints as the migration, nothing else. No BEGIN/COMMIT, no DO blocks, no functions.',
  'The rewrite is taken only if the lint finds it strictly safer; it is then dry-run and a person approves it.',
  'In "explanation", say in plain words what the migration risks (data lost, how long writes or reads wait, on which tables, how many rows) and what would make it safer.',
].join('\n');

/** The user message: the statements with their findings, and the tables they touch as they are now. */
function rewritePrompt({ plan, lint }: RewriteInput): string {
  const statements = plan.statements
    .map((s) => {
      const findings = lint.findings
        .filter((f) => f.statement === s.index)
        .map((f) => `  - ${f.severity} ${f.rule}: ${f.message}`)
        .join('\n');
      return `${s.index + 1}. ${s.sql}${findings ? `\n${findings}` : ''}`;
    })
    .join('\n');
  const touched = new Set(plan.statements.flatMap((s) => tablesOf(s.operation).map((t) => t.name)));
  const tables = plan.before.tables
    .filter((t) => touched.has(t.name))
    .map((t) =>
      JSON.stringify({
        table: t.name,
        rows: Math.round(t.estimatedRows),
        columns: t.columns.map((c) => `${c.name} ${c.type}`),
        constraints: t.constraints.map((c) => c.name),
        indexes: t.indexes.map((i) => i.name),
      }),
    )
    .join('\n');
  return [
    `Schema "${plan.schema}". The migration, statement by statement, with the lint's findings:\n${statements}`,
    plan.proposed
      ? 'Flowstate wrote this migration from its schema analysis, already in its lock-safe form: answer "sql": null and explain it.'
      : '',
    tables ? `The tables it touches, as they are now:\n${tables}` : '',
  ]
    .filter((p) => p !== '')
    .join('\n\n');
}

/**
 * The migration's `migration-rewrite` agent on a model: a lock-safe rewrite of the migration (or null) and the
 * risks in plain words, as `{ sql, explanation }`. The template's `judge` step takes the rewrite only if it parses,
 * the lint proves every statement and finds it strictly safer, and it changes the same objects; a rewrite taken
 * is dry-run on a scratch copy and always waits for a human's approval. The explanation is shown with the approval
 * request and in the report.
 *
 * @example
 * ```ts
 * const agents = { ...migrationAgents(db), 'migration-rewrite': migrationRewriterLlm(openai('gpt-4o-mini')) };
 * ```
 */
export function migrationRewriterLlm(model: Model) {
  return llmAgent<RewriteInput, Rewrite>({
    model,
    name: 'migration-rewrite',
    system: REWRITE_SYSTEM,
    prompt: rewritePrompt,
    output: RewriteSchema,
    temperature: 0,
  });
}
