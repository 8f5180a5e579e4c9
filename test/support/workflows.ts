/**
 * Workflows that together use every node kind and every step option the path model knows: the catalog that
 * paths, path runs and verification are tested on (until the templates exist; then they join it).
 */
import { z } from 'zod';
import type { AnyWorkflowDefinition, WorkflowContext } from '../../src/index.js';
import { workflow } from '../../src/index.js';
import type { WorkflowPathsOptions } from '../../src/testing/index.js';

/** A scan, a branch on its result (data-path guard), a human escalation, retries with a per-attempt timeout. */
export const review = workflow('review')
  .step('scan', { retry: { attempts: 2, initialMs: 50 }, timeoutMs: 1_000 })
  .branch('triage', [
    {
      when: 'results.scan.critical',
      then: (b) => b.step('review', { escalate: { to: 'human', timeoutMs: 60_000 }, timeoutMs: 5_000 }),
    },
    { otherwise: (b) => b.step('report', { timeoutMs: 1_000 }) },
  ])
  .step('publish', { timeoutMs: 1_000 })
  .build();

/** A map over the input (per-item errors skipped) beside a region that may fail, joined without fail-fast. */
export const fanout = workflow('fanout', { input: z.object({ tables: z.array(z.string()) }) })
  .parallel(
    'analyze',
    {
      tables: (r) =>
        r.map('check', {
          items: 'input.tables',
          step: { agent: 'checkTable', onError: 'skip', timeoutMs: 1_000 },
          concurrency: 2,
        }),
      indexes: (r) => r.step('indexUsage', { fallback: 'indexGuess', timeoutMs: 1_000 }),
    },
    { failFast: false },
  )
  .step('summarize', { timeoutMs: 1_000 })
  .build();

/** A bounded generate-critique loop on a data-path guard, then an approval with a schema and a deadline. */
export const refine = workflow('refine')
  .loop('draftLoop', (b) => b.step('draft', { timeoutMs: 1_000 }).step('critique', { timeoutMs: 1_000 }), {
    until: 'results.critique.ok',
    maxIterations: 2,
    onMaxIterations: 'fail',
  })
  .waitFor('approval', { event: 'approve', schema: z.object({ by: z.string() }), timeoutMs: 3_600_000 })
  .build();

const charge = workflow('charge').step('authorize', { timeoutMs: 1_000 }).step('capture').build();

/** Compensation, a fallback, a supervisor agent, a child workflow and fail-fast parallel regions. */
export const saga = workflow('saga', { onError: 'compensate' })
  .step('book', { compensate: 'unbook', timeoutMs: 1_000 })
  .parallel('prepare', {
    seats: (r) => r.step('holdSeats', { timeoutMs: 1_000 }),
    meals: (r) => r.step('orderMeals', { timeoutMs: 1_000, onError: 'skip' }),
  })
  .step('pay', { workflow: charge })
  .step('confirm', { escalate: { to: 'supervisor', timeoutMs: 5_000, onTimeout: 'skip' }, timeoutMs: 1_000 })
  .build();

const urgent = (ctx: WorkflowContext) => (ctx.results.score as { value?: number } | undefined)?.value === 10;

/** Guards the data paths cannot see into: an inline function and a guard the engine registers by name. */
export const guarded = workflow('guarded')
  .step('score', { timeoutMs: 1_000 })
  .branch('route', [
    { when: urgent, then: (b) => b.step('page', { timeoutMs: 1_000 }) },
    { when: 'isLow', then: (b) => b.step('archive', { timeoutMs: 1_000 }) },
    { otherwise: (b) => b },
  ])
  .build();

/** Named guards the `guarded` workflow needs from the engine. */
export const guards = {
  isLow: (ctx: WorkflowContext) => ((ctx.results.score as { value?: number } | undefined)?.value ?? 0) < 3,
};

/** The catalog, with the path options each needs (inputs, sample outputs that reach function guards). */
export const catalog: ReadonlyArray<{
  readonly definition: AnyWorkflowDefinition;
  readonly options: WorkflowPathsOptions;
}> = [
  { definition: review, options: {} },
  { definition: fanout, options: { input: { tables: ['orders', 'users'] } } },
  { definition: refine, options: { outputs: { approval: [{ by: 'ada' }] } } },
  { definition: saga, options: {} },
  {
    definition: guarded,
    options: { guards, outputs: { score: [{ value: 10 }, { value: 1 }, { value: 5 }] } },
  },
];
