/**
 * `flowstate/templates`: the five templates for import. Each is a {@link Template} (its definition, the factory of
 * its default agents for a database, its example input) plus the builders and agent factories with their options,
 * so a user can run a template as the CLI does, change its bounds, or override any agent by the name its steps use
 * (docs/templates.md lists the names and the LLM seams).
 *
 * @example
 * ```ts
 * import { queryGenerationTemplate, queryGeneratorLlm } from 'flowstate/templates';
 * const engine = createEngine({
 *   agents: { ...queryGenerationTemplate.agents(db), 'query-generator': queryGeneratorLlm(model) },
 * });
 * ```
 */

export { RuleProposalsSchema } from './data-validation/proposed.js';
export {
  type DataValidationAgentOptions,
  type DataValidationInput,
  dataValidation,
  dataValidationAgents,
  template as dataValidationTemplate,
  type ValidationReport,
} from './data-validation.js';
export { type AnyTemplate, findTemplate, type Template, templates } from './index.js';
export {
  IndexProposalsSchema,
  LLM_TEMPLATES,
  llmAgentsFor,
  migrationRewriterLlm,
  optimizationProposerLlm,
  queryGeneratorLlm,
  ruleProposerLlm,
  schemaExplainerLlm,
} from './llm.js';
export { RewriteSchema } from './migration/schemas.js';
export {
  type MigrationAgentOptions,
  type MigrationInput,
  type MigrationReport,
  type MigrationWorkflowOptions,
  migration,
  migrationAgents,
  migrationWorkflow,
  template as migrationTemplate,
} from './migration.js';
export {
  type OptimizationAgentOptions,
  type OptimizationInput,
  type OptimizationReport,
  type OptimizationWorkflowOptions,
  optimization,
  optimizationAgents,
  optimizationWorkflow,
  template as optimizationTemplate,
} from './optimization.js';
export {
  type Candidate,
  type GenerationRequest,
  type QueryGenerationAgentOptions,
  type QueryGenerationInput,
  type QueryGenerationWorkflowOptions,
  type QueryGenerator,
  type QueryReport,
  queryGeneration,
  queryGenerationAgents,
  queryGenerationWorkflow,
  template as queryGenerationTemplate,
} from './query-generation.js';
export { schemaAnalysisAgents } from './schema-analysis/agents.js';
export { ExplanationDraftSchema } from './schema-analysis/explain.js';
export {
  type SchemaAnalysisInput,
  type SchemaReport,
  schemaAnalysis,
  template as schemaAnalysisTemplate,
} from './schema-analysis.js';
