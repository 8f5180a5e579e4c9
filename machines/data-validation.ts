/**
 * The data validation template, on any database with its default input `{}`: read the catalog of the main schema,
 * take the rules PostgreSQL does not enforce (NOT VALID constraints), propose rules from the schema's shape
 * (orphans where no foreign key is declared, negative amounts, future creation times), add the user's, then check
 * each table in one set-based pass that also profiles its columns (`map`, two tables at a time), summarize the
 * violations with examples, and escalate to a human when the share of rows breaking a rule passes the threshold.
 * After the first pass, the `validation-propose` step (an LLM's, when one is plugged in; silent by default) may
 * propose more rules from the profiles: the `judge` step parses each, and only safe ones are counted, read-only.
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
export type {
  ColumnProfile,
  DataValidationInput,
  Rule,
  ValidationReport,
} from './data-validation/schemas.js';

/** How long the threshold escalation waits for a human before the run fails. */
const REVIEW_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** How many tables are checked at once: each pass is one query that keeps a core busy. */
const TABLE_CONCURRENCY = 2;

/**
 * The data validation workflow. Its output is a {@link ValidationReport}. When the violation ratio passes the
 * threshold, the `review` step escalates: `run.resolveEscalation('review', { action: 'skip', value: decision })`
 * accepts the data and finishes the report (the decision is kept in it), `abort` fails the run.
 */
export const dataValidation = workflow<DataValidationInput, ValidationReport>('data-validation', {
  description:
    'Profiles every table and checks the rules PostgreSQL does not enforce, proposed rules and user rules in one pass per table; escalates above a violation ratio',
  input: DataValidationInputSchema,
  output: ValidationReportSchema,
  result: 'results.report',
})
  .step('plan', {
    agent: 'validation-plan',
    description: 'Read the catalog, derive and propose the rules, one task per table',
    retry: { attempts: 3, initialMs: 200 },
    timeoutMs: 60_000,
  })
  .map('check', {
    items: 'results.plan.tasks',
    step: {
      agent: 'validation-check-table',
      description: 'Profile one table and count the rows breaking each rule, in one read-only pass',
      retry: { attempts: 2, initialMs: 200 },
      timeoutMs: 900_000,
    },
    concurrency: TABLE_CONCURRENCY,
  })
  .step('propose', {
    agent: 'validation-propose',
    input: 'results',
    description: 'Propose more rules from the profiles (nothing by default; an LLM when one is plugged in)',
  })
  .step('judge', {
    agent: 'validation-judge',
    input: 'results',
    description:
      'Parse each proposed rule: one boolean expression over the table’s own columns and safe built-ins, compiled read-only; else refused with why',
  })
  .map('recheck', {
    items: 'results.judge.tasks',
    step: {
      agent: 'validation-check-proposed',
      description: 'Count the rows breaking the accepted proposals, in one more read-only pass per table',
      retry: { attempts: 2, initialMs: 200 },
      timeoutMs: 900_000,
    },
    concurrency: TABLE_CONCURRENCY,
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

/**
 * The CLI registry entry of the data validation. Its example input is `{}`: every table of the main schema, on
 * any database. The sample's business rule (an order's total is the sum of its items) is a user rule to add.
 */
export const template: Template<DataValidationInput, ValidationReport> = {
  id: 'data-validation',
  description: 'Data quality: column profiles, unenforced and proposed rules, one set-based pass per table',
  definition: dataValidation,
  agents: (db) => dataValidationAgents(db),
  exampleInput: {},
};
