/**
 * The LLM seams of the templates: for each template, the agent an LLM can fill (by the name its step uses) and a
 * ready-made `llmAgent` for it (one file per template under `llm/`). An LLM only proposes; the template's
 * deterministic steps stay the judges (query-generation's check, optimization's and data-validation's judges, the
 * migration's lint, the schema analysis's report).
 */
import type { AgentRegistry } from '../src/index.js';
import { ruleProposerLlm } from './llm/data-validation.js';
import { migrationRewriterLlm } from './llm/migration.js';
import type { Model } from './llm/model.js';
import { optimizationProposerLlm } from './llm/optimization.js';
import { queryGeneratorLlm } from './llm/query-generation.js';
import { schemaExplainerLlm } from './llm/schema-analysis.js';

export { ruleProposerLlm } from './llm/data-validation.js';
export { migrationRewriterLlm } from './llm/migration.js';
export { IndexProposalsSchema, optimizationProposerLlm } from './llm/optimization.js';
export { queryGeneratorLlm } from './llm/query-generation.js';
export { schemaExplainerLlm } from './llm/schema-analysis.js';

/**
 * The agents a model fills in a template, by the template's id: the registry to spread over `template.agents(db)`.
 * Every template has one seam (docs/templates.md): query-generation's `query-generator`, optimization's
 * `optimization-propose`, data-validation's `validation-propose`, migration's `migration-rewrite` and
 * schema-analysis's `schema-explain`; for an unknown id this is `{}`.
 *
 * @example
 * ```ts
 * createEngine({ agents: { ...template.agents(db), ...llmAgentsFor(template.id, model) } });
 * ```
 */
export function llmAgentsFor(templateId: string, model: Model): AgentRegistry {
  if (templateId === 'query-generation') return { 'query-generator': queryGeneratorLlm(model) };
  if (templateId === 'optimization') return { 'optimization-propose': optimizationProposerLlm(model) };
  if (templateId === 'data-validation') return { 'validation-propose': ruleProposerLlm(model) };
  if (templateId === 'migration') return { 'migration-rewrite': migrationRewriterLlm(model) };
  if (templateId === 'schema-analysis') return { 'schema-explain': schemaExplainerLlm(model) };
  return {};
}

/** The ids of the templates that {@link llmAgentsFor} fills: all five (the CLI's `--model` refuses any other). */
export const LLM_TEMPLATES: readonly string[] = [
  'query-generation',
  'optimization',
  'schema-analysis',
  'data-validation',
  'migration',
];
