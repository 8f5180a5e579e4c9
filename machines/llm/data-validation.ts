/** data-validation's LLM seam: the `validation-propose` step on a model, judged by `validation-judge`. */
import type { z } from 'zod';
import { llmAgent } from '../../src/ai/index.js';
import { type RuleProposals, RuleProposalsSchema } from '../data-validation/proposed.js';
import type { PlanSchema, TableResult } from '../data-validation/schemas.js';
import type { Model } from './model.js';

/** What the `propose` step receives: the plan (tables, columns, rules) and the first pass's results (profiles). */
interface ProposeInput {
  readonly plan: z.infer<typeof PlanSchema>;
  readonly check: readonly TableResult[];
}

const RULES_SYSTEM = [
  'You propose data quality rules for PostgreSQL tables, reading each column’s profile (null rate, distinct values, minimum, maximum, mean).',
  'Each rule is one boolean SQL expression that every row of one table should make true, e.g. "discount BETWEEN 0 AND 1", "shipped_at >= ordered_at", "email ~ \'^[^@]+@[^@]+$\'".',
  'Use only the columns listed for that table, constants, comparison and arithmetic operators, LIKE, ~, IN, BETWEEN, IS NULL, CASE, COALESCE and simple built-in functions (lower, length, abs, date_trunc, now).',
  'No subqueries, no other tables, no parameters. NULL counts as passing, as in a CHECK constraint.',
  'Propose rules the profile supports (the data mostly satisfies them) and that a person would call a business rule; skip what the listed rules already check.',
  'Every rule is parsed and checked before it runs read-only; a rule broken by more than 2% of the rows is dropped.',
].join('\n');

/** Characters of table profiles one prompt holds (about 15,000 tokens); the tables past it are named only. */
const PROFILES_BUDGET = 60_000;

/** The user message: per table, its rows, columns with their profiles, and the rules already checked. */
function rulesPrompt({ plan, check }: ProposeInput): string {
  const described = check
    .filter((c) => c.error === undefined)
    .slice(0, 100)
    .map((c) => {
      const task = plan.tasks.find((t) => t.table === c.table);
      const columns = c.profile
        .map((p) =>
          JSON.stringify({
            column: p.column,
            type: p.type,
            nullRate: Math.round(p.nullRate * 1000) / 1000,
            distinct: p.distinct,
            min: p.min,
            max: p.max,
            mean: p.mean === null ? null : Math.round(p.mean * 100) / 100,
          }),
        )
        .join('\n  ');
      const rules = (task?.rules ?? []).map((r) => r.name).join('; ');
      return `Table ${c.table} (${c.rows} rows):\n  ${columns}${rules ? `\n  Rules already checked: ${rules}` : ''}`;
    });
  // Wide tables (hundreds of columns) or many tables: the profiles that fit, the others named.
  const kept: string[] = [];
  let used = 0;
  for (const table of described) {
    if (kept.length > 0 && used + table.length > PROFILES_BUDGET) break;
    kept.push(table);
    used += table.length + 2;
  }
  const left = check
    .filter((c) => c.error === undefined)
    .slice(kept.length)
    .map((c) => c.table);
  const more =
    left.length > 0 ? `\n\n${left.length} more table(s) not shown: ${left.slice(0, 200).join(', ')}` : '';
  return `Schema "${plan.schema}".\n\n${kept.join('\n\n')}${more}`;
}

/**
 * The data validation's `validation-propose` agent on a model: extra rules written by the model from the column
 * profiles of the first pass, as `{ rules: [{ table, name, expression, reason }], notes }`. The template's `judge`
 * step parses every expression (only that table's columns, constants, built-in operators and safe functions; no
 * subquery) and compiles it read-only; refused rules are reported with why and never run, accepted ones are counted
 * in a second read-only pass.
 *
 * @example
 * ```ts
 * const agents = { ...dataValidationAgents(db), 'validation-propose': ruleProposerLlm(openai('gpt-4o-mini')) };
 * ```
 */
export function ruleProposerLlm(model: Model) {
  return llmAgent<ProposeInput, RuleProposals>({
    model,
    name: 'validation-propose',
    system: RULES_SYSTEM,
    prompt: rulesPrompt,
    output: RuleProposalsSchema,
    temperature: 0,
  });
}
