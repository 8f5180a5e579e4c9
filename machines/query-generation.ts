/**
 * The query generation template: a request in plain language and the schema go to a generator (an LLM, or the
 * deterministic default); every candidate is checked (one read-only statement, values as parameters, EXPLAIN
 * succeeds, sample rows with a LIMIT) and failures feed back into the generator in a bounded loop; after the
 * last try a human is asked. Generated SQL only ever runs in a READ ONLY transaction with a statement timeout.
 */
import { workflow } from '../src/index.js';
import { queryGenerationAgents } from './query-generation/agents.js';
import {
  type QueryGenerationInput,
  QueryGenerationInputSchema,
  type QueryReport,
  QueryReportSchema,
} from './query-generation/schemas.js';
import type { Template } from './template.js';

export { checkReadOnlySql, type ReadOnlyOptions, runReadOnly } from './lib/read-only.js';
export { type QueryGenerationAgentOptions, queryGenerationAgents } from './query-generation/agents.js';
export type { Attempt, Candidate, GenerationRequest, QueryGenerator } from './query-generation/generator.js';
export type { SchemaContext } from './query-generation/schema-context.js';
export type { QueryGenerationInput, QueryReport } from './query-generation/schemas.js';

/** Options of {@link queryGenerationWorkflow}. */
export interface QueryGenerationWorkflowOptions {
  /** Candidates the generator may propose before a human is asked. @default 3 */
  readonly maxAttempts?: number;
  /** How long the human review waits; then the report says the request is unanswered. @default 3600000 */
  readonly reviewTimeoutMs?: number;
}

/**
 * Builds the query generation workflow. Its output is a {@link QueryReport}.
 *
 * @example
 * ```ts
 * const wf = queryGenerationWorkflow({ maxAttempts: 5 });
 * const report = await createEngine({ agents: queryGenerationAgents(db) }).start(wf, { request: 'top 5 products by price' }).result;
 * ```
 */
export function queryGenerationWorkflow(options: QueryGenerationWorkflowOptions = {}) {
  return workflow<QueryGenerationInput, QueryReport>('query-generation', {
    description:
      'Turns a request in plain language into a checked, parameterized, read-only query, with feedback and a human fallback',
    input: QueryGenerationInputSchema,
    output: QueryReportSchema,
    result: 'results.report',
  })
    .step('context', {
      agent: 'query-context',
      description: 'Read the schema: tables, columns, keys, common values',
    })
    .loop(
      'attempts',
      (b) =>
        b
          .step('generate', {
            agent: 'query-generator',
            input: 'results',
            description: 'Propose a query, given the earlier failures',
            retry: { attempts: 3, initialMs: 500 },
            timeoutMs: 60_000,
          })
          .step('check', {
            agent: 'query-check',
            input: 'results',
            description: 'Static checks, EXPLAIN and sample rows, read-only',
            timeoutMs: 30_000,
          }),
      { until: 'results.check.ok', maxIterations: options.maxAttempts ?? 3 },
    )
    .branch('outcome', [
      { when: 'results.check.ok', then: () => {} },
      {
        otherwise: (b) =>
          b.step('review', {
            agent: 'query-review',
            input: 'results',
            description: 'Ask a human for a query after the last try',
            escalate: { to: 'human', timeoutMs: options.reviewTimeoutMs ?? 3_600_000, onTimeout: 'skip' },
          }),
      },
    ])
    .step('report', {
      agent: 'query-report',
      input: 'results',
      description: 'Report the query and its sample',
    })
    .build();
}

/** The query generation workflow with its default bounds. */
export const queryGeneration = queryGenerationWorkflow();

/** The CLI registry entry of the query generation. */
export const template: Template<QueryGenerationInput, QueryReport> = {
  id: 'query-generation',
  description: 'Plain-language request to a checked, parameterized, read-only SQL query with sample rows',
  definition: queryGeneration,
  agents: (db) => queryGenerationAgents(db),
  exampleInput: {},
};
