/**
 * The LLM seams of the templates: for each template, the agents an LLM can fill (by the names its steps use) and
 * ready-made `llmAgent`s for them. An LLM only proposes; the template's deterministic steps stay the judges
 * (query-generation's check runs every candidate through the read-only and semantic checks).
 */
import type { AgentRegistry } from '../src/index.js';
import { ruleProposerLlm } from './llm/data-validation.js';
import type { Model } from './llm/model.js';
import { optimizationProposerLlm } from './llm/optimization.js';
import { queryGeneratorLlm } from './llm/query-generation.js';
import { schemaExplainerLlm } from './llm/schema-analysis.js';

export { ruleProposerLlm } from './llm/data-validation.js';
export { IndexProposalsSchema, optimizationProposerLlm } from './llm/optimization.js';
export { queryGeneratorLlm } from './llm/query-generation.js';
export { schemaExplainerLlm } from './llm/schema-analysis.js';

/**
 * The agents a model fills in a template, by the template's id: the registry to spread over `template.agents(db)`.
 * query-generation (`query-generator`) and optimization (`optimization-propose`) have seams (docs/templates.md);
 * for the others this is `{}`.
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
  if (templateId === 'schema-analysis') return { 'schema-explain': schemaExplainerLlm(model) };
  return {};
}

/** The ids of the templates that {@link llmAgentsFor} fills (the CLI's `--model` refuses the others). */
export const LLM_TEMPLATES: readonly string[] = [
  'query-generation',
  'optimization',
  'schema-analysis',
  'data-validation',
];
