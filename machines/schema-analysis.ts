/**
 * The schema analysis template: introspect the catalog (partitioned tables as their parent, views apart), run six
 * checks in parallel regions, triage the findings
 * by severity, then either dry-run the fixes (when something is critical) or list them, explain them in plain
 * language (the step an LLM can fill; its text is judged against the findings), and score the schema.
 */
import { workflow } from '../src/index.js';
import {
  SchemaAnalysisInputSchema,
  type SchemaReport,
  SchemaReportSchema,
  schemaAnalysisAgents,
} from './schema-analysis/agents.js';
import type { Template } from './template.js';

export type { SchemaReport } from './schema-analysis/agents.js';
export type { Explanation, ExplanationDraft } from './schema-analysis/explain.js';
export type { Finding, Severity } from './schema-analysis/findings.js';

/** The schema analysis input: `{ schema? }` (default: `public` when it has tables, else the largest user schema). */
export type SchemaAnalysisInput = { schema?: string | undefined };

const catalog = { input: 'results.introspect' } as const;

/**
 * The schema analysis workflow. Its output is a {@link SchemaReport}. Everything in it is data (data paths, no
 * inline functions), so it has a JSON form for `flowstate describe`.
 */
export const schemaAnalysis = workflow<SchemaAnalysisInput, SchemaReport>('schema-analysis', {
  description:
    'Finds missing foreign key indexes, duplicate and unused indexes, tables without a primary key, nullable foreign keys, naming drift, integer keys near overflow and risky column types; scores the schema',
  input: SchemaAnalysisInputSchema,
  output: SchemaReportSchema,
  result: 'results.report',
})
  .step('introspect', {
    agent: 'schema-introspect',
    description: 'Read tables, columns, constraints, indexes and sizes from the catalog',
    retry: { attempts: 3, initialMs: 200 },
    timeoutMs: 30_000,
  })
  .parallel('analyze', {
    foreignKeys: (r) => r.step('foreignKeyIndexes', { agent: 'schema-fk-indexes', ...catalog }),
    indexes: (r) => r.step('indexHealth', { agent: 'schema-index-health', ...catalog }),
    keys: (r) => r.step('primaryKeys', { agent: 'schema-primary-keys', ...catalog }),
    nullable: (r) =>
      r.step('nullableForeignKeys', {
        agent: 'schema-nullable-fks',
        ...catalog,
        description: 'Count rows whose nullable foreign key is NULL',
        retry: { attempts: 2 },
        timeoutMs: 60_000,
      }),
    naming: (r) => r.step('naming', { agent: 'schema-naming', ...catalog }),
    types: (r) => r.step('columnTypes', { agent: 'schema-column-types', ...catalog }),
  })
  .step('triage', { agent: 'schema-triage', input: 'results', description: 'Sort findings by severity' })
  .branch('severity', [
    {
      when: 'results.triage.hasCritical',
      then: (b) =>
        b.step('remediation', {
          agent: 'schema-remediation',
          input: 'results.triage',
          description: 'Try every fix in a transaction that rolls back',
          timeoutMs: 120_000,
        }),
    },
    {
      otherwise: (b) =>
        b.step('advice', { agent: 'schema-advice', input: 'results.triage', description: 'List the fixes' }),
    },
  ])
  .step('explain', {
    agent: 'schema-explain',
    input: 'results',
    description: 'Explain the findings in plain language, most urgent first (templated, or an LLM)',
  })
  .step('report', {
    agent: 'schema-report',
    input: 'results',
    description: 'Score and report; the explanation keeps only what cites real findings and objects',
  })
  .build();

/** The CLI registry entry of the schema analysis. */
export const template: Template<SchemaAnalysisInput, SchemaReport> = {
  id: 'schema-analysis',
  description:
    'Schema health: missing FK indexes, duplicate/unused indexes, missing primary keys, nullable FKs, naming',
  definition: schemaAnalysis,
  agents: schemaAnalysisAgents,
  exampleInput: {},
};
