/** schema-analysis's LLM seam: the `schema-explain` step on a model; the report's judge checks what it cites. */
import { llmAgent } from '../../src/ai/index.js';
import type { Catalog } from '../lib/catalog.js';
import { type ExplanationDraft, ExplanationDraftSchema } from '../schema-analysis/explain.js';
import type { Finding } from '../schema-analysis/findings.js';
import type { Model } from './model.js';

/** What the `explain` step receives: the catalog and the triaged findings (with the fixes tried or listed). */
interface ExplainInput {
  readonly introspect: Catalog;
  readonly triage: {
    readonly schema: string;
    readonly findings: readonly Finding[];
    readonly counts: { critical: number; warning: number; info: number };
  };
  readonly remediation?: { readonly actions: readonly { finding: string; dryRun: string }[] } | undefined;
}

const EXPLAIN_SYSTEM = [
  'You explain the findings of a PostgreSQL schema analysis to the person who owns the database, in plain language.',
  'The findings are facts from deterministic checks: do not add findings, do not change their severity, do not guess others.',
  'Write "summary": two to five sentences on what matters most and why.',
  'Write "priorities": the findings to fix first, most urgent first, each by its exact id, with one or two sentences on the risk and the fix.',
  'Write table, column and index names in backticks, exactly as listed. Name nothing that is not in the findings or the tables listed.',
].join('\n');

/** The user message: the findings (id, severity, table, message, fix) and the tables with their columns. */
function explainPrompt({ introspect, triage, remediation }: ExplainInput): string {
  const tried = new Map((remediation?.actions ?? []).map((a) => [a.finding, a.dryRun]));
  const findings = triage.findings
    .slice(0, 200)
    .map((f) =>
      JSON.stringify({
        id: f.id,
        severity: f.severity,
        table: f.table,
        message: f.message,
        ...(f.fix ? { fix: f.fix } : {}),
        ...(tried.has(f.id) ? { dryRun: tried.get(f.id) } : {}),
      }),
    )
    .join('\n');
  const tables = introspect.tables
    .filter((t) => !t.partitionOf)
    .slice(0, 200)
    .map(
      (t) => `${t.name} (~${Math.round(t.estimatedRows)} rows): ${t.columns.map((c) => c.name).join(', ')}`,
    )
    .join('\n');
  return [
    `Schema "${triage.schema}": ${triage.counts.critical} critical, ${triage.counts.warning} warning, ${triage.counts.info} info.`,
    findings ? `The findings, one per line:\n${findings}` : 'The checks found nothing.',
    `The tables and their columns:\n${tables}`,
  ].join('\n\n');
}

/**
 * The schema analysis's `schema-explain` agent on a model: the findings explained in plain language, most urgent
 * first, as `{ summary, priorities }`. The findings stay the checks'; the `report` step judges the explanation and
 * drops any sentence or priority that cites a finding, table, column or index the analysis does not have.
 *
 * @example
 * ```ts
 * const agents = { ...schemaAnalysisAgents(db), 'schema-explain': schemaExplainerLlm(openai('gpt-4o-mini')) };
 * ```
 */
export function schemaExplainerLlm(model: Model) {
  return llmAgent<ExplainInput, ExplanationDraft>({
    model,
    name: 'schema-explain',
    system: EXPLAIN_SYSTEM,
    prompt: explainPrompt,
    output: ExplanationDraftSchema,
    temperature: 0,
  });
}
