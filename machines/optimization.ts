/**
 * The optimization template: take queries (given, or the slowest from pg_stat_statements, else the lookups the
 * catalog's unindexed foreign keys imply, else none: "no workload to optimize"), EXPLAIN ANALYZE each in parallel, propose indexes from the plans, try each proposal in a transaction
 * that rolls back while measuring the plan and the time before and after, and recommend the indexes with their
 * measured speed-up. Nothing it tries is kept: the recommendations are DDL for a human (or the migration).
 */
import { workflow } from '../src/index.js';
import { optimizationAgents } from './optimization/agents.js';
import {
  type OptimizationInput,
  OptimizationInputSchema,
  type OptimizationReport,
  OptimizationReportSchema,
} from './optimization/schemas.js';
import type { Template } from './template.js';

export { type OptimizationAgentOptions, optimizationAgents } from './optimization/agents.js';
export { filterColumns } from './optimization/propose.js';
export type { OptimizationInput, OptimizationReport, Proposal, Trial } from './optimization/schemas.js';

/** Options of {@link optimizationWorkflow}. */
export interface OptimizationWorkflowOptions {
  /** Queries measured at once. @default 4 */
  readonly concurrency?: number;
}

/**
 * Builds the optimization workflow. Its output is an {@link OptimizationReport}.
 *
 * @example
 * ```ts
 * const report = await createEngine({ agents: optimizationAgents(db) }).start(optimization, {}).result;
 * for (const r of report.recommendations) console.log(`${r.ddl} -- ${r.speedup}x`);
 * ```
 */
export function optimizationWorkflow(options: OptimizationWorkflowOptions = {}) {
  return (
    workflow<OptimizationInput, OptimizationReport>('optimization', {
      description:
        'Measures queries with EXPLAIN ANALYZE (generic plans for queries without values), proposes lock-safe indexes from their plans, tries each hypothetically with HypoPG (or, when asked, in a rolled-back transaction) and recommends the wins, ranked by calls × saving',
      input: OptimizationInputSchema,
      output: OptimizationReportSchema,
      result: 'results.recommend',
    })
      .step('collect', {
        agent: 'optimization-collect',
        description:
          'Take the given queries, else pg_stat_statements, else the lookups unindexed foreign keys imply, else none',
      })
      .map('explain', {
        items: 'results.collect.queries',
        step: {
          agent: 'optimization-explain',
          timeoutMs: 120_000,
          // A statement the server will not plan (pg_stat_statements keeps `interval $1`, which its parser takes
          // and PostgreSQL's planner refuses) is left out of the report with a note, not the end of the run.
          onError: 'skip',
          description: 'EXPLAIN ANALYZE, read-only',
        },
        concurrency: options.concurrency ?? 4,
      })
      .step('propose', {
        agent: 'optimization-propose',
        input: 'results',
        description: 'Read the plans: selective sequential scans and the sorts above them',
      })
      .step('judge', {
        agent: 'optimization-judge',
        input: 'results',
        description:
          'Parse each proposal: only one CREATE INDEX CONCURRENTLY on plain columns of a table the workload reads is tried',
      })
      // One at a time: two index builds on one table would wait on each other and skew each other's timings.
      .map('trial', {
        items: 'results.judge.proposals',
        step: {
          agent: 'optimization-trial',
          timeoutMs: 300_000,
          retry: { attempts: 2, initialMs: 500, retryOn: ['55P03'] },
          description:
            'Before and after the index: hypothetical (HypoPG), or built in a transaction that rolls back',
        },
        concurrency: 1,
      })
      .step('recommend', {
        agent: 'optimization-recommend',
        input: 'results',
        description: 'Keep the indexes whose measured speed-up pays off',
      })
      .build()
  );
}

/** The optimization workflow with its default concurrency. */
export const optimization = optimizationWorkflow();

/** The CLI registry entry of the optimization. */
export const template: Template<OptimizationInput, OptimizationReport> = {
  id: 'optimization',
  description:
    'EXPLAIN ANALYZE queries, try index proposals with HypoPG (or rolled back), recommend lock-safe wins',
  definition: optimization,
  agents: (db) => optimizationAgents(db),
  exampleInput: {},
};
