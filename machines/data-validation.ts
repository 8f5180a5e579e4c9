/**
 * The data validation template: derive rules from the schema (NOT NULL, foreign keys, ranges, enums) and add the
 * user's, check every table in batches (`map`, four at a time), summarize the violations with examples, and
 * escalate to a human when the share of rows breaking a rule passes the threshold.
 */
import { workflow } from '../src/index.js';
import { dataValidationAgents } from './data-validation/agents.js';
import {
  type DataValidationInput,
  DataValidationInputSchema,
  type ValidationReport,
  ValidationReportSchema,
} from './data-validation/schemas.js';
import type { Template } from './template.js';

export { type DataValidationAgentOptions, dataValidationAgents } from './data-validation/agents.js';
export type { ZodRule } from './data-validation/rules.js';
export type { DataValidationInput, Rule, ValidationReport } from './data-validation/schemas.js';

/** How long the threshold escalation waits for a human before the run fails. */
const REVIEW_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** How many batches are checked at once. */
const BATCH_CONCURRENCY = 4;

/**
 * The data validation workflow. Its output is a {@link ValidationReport}. When the violation ratio passes the
 * threshold, the `review` step escalates: `run.resolveEscalation('review', { action: 'skip', value: decision })`
 * accepts the data and finishes the report (the decision is kept in it), `abort` fails the run.
 */
export const dataValidation = workflow<DataValidationInput, ValidationReport>('data-validation', {
  description:
    'Checks rows against rules derived from the schema and user rules; escalates above a violation ratio',
  input: DataValidationInputSchema,
  output: ValidationReportSchema,
  result: 'results.report',
})
  .step('plan', {
    agent: 'validation-plan',
    description: 'Read the catalog, derive the rules, count rows and cut batches',
    retry: { attempts: 3, initialMs: 200 },
    timeoutMs: 60_000,
  })
  .map('check', {
    items: 'results.plan.batches',
    step: {
      agent: 'validation-check-batch',
      description: 'Check one batch of rows against its table rules',
      retry: { attempts: 2, initialMs: 200 },
      timeoutMs: 120_000,
    },
    concurrency: BATCH_CONCURRENCY,
  })
  .step('summarize', {
    agent: 'validation-summarize',
    input: 'results',
    description: 'Count violations per rule',
  })
  .branch('threshold', [
    {
      when: 'results.summarize.overThreshold',
      then: (b) =>
        b.step('review', {
          agent: 'validation-gate',
          input: 'results.summarize',
          description: 'Too many rows break a rule: a human accepts or aborts',
          escalate: { to: 'human', timeoutMs: REVIEW_TIMEOUT_MS, onTimeout: 'fail' },
        }),
    },
    {
      otherwise: (b) =>
        b.step('accept', {
          agent: 'validation-accept',
          input: 'results.summarize',
          description: 'Under the threshold: accepted without review',
        }),
    },
  ])
  .step('report', {
    agent: 'validation-report',
    input: 'results',
    description: 'Report violations with examples',
  })
  .build();

/** The CLI registry entry of the data validation. Its example input checks the sample's order totals. */
export const template: Template<DataValidationInput, ValidationReport> = {
  id: 'data-validation',
  description: 'Data quality: rows checked in batches against schema rules and user rules, with examples',
  definition: dataValidation,
  agents: (db) => dataValidationAgents(db),
  exampleInput: {
    tables: ['customers', 'products', 'orders', 'order_items', 'product_reviews', 'audit_log'],
    rules: [
      {
        table: 'order_summaries',
        name: 'order total equals the sum of its items',
        schema: {
          type: 'object',
          properties: { difference: { const: 0 } },
          required: ['difference'],
        },
      },
    ],
  },
};
