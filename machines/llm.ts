/**
 * The LLM seams of the templates: for each template, the agents an LLM can fill (by the names its steps use) and
 * ready-made `llmAgent`s for them. An LLM only proposes; the template's deterministic steps stay the judges
 * (query-generation's check runs every candidate through the read-only and semantic checks).
 */
import { z } from 'zod';
import { llmAgent } from '../src/ai/index.js';
import type { AgentContext, AgentRegistry } from '../src/index.js';
import type { Baseline, Collected, Proposal } from './optimization/schemas.js';
import { CandidateSchema } from './query-generation/generator.js';
import type { SchemaContext } from './query-generation/schema-context.js';

/** The model an LLM seam takes: the AI SDK's `LanguageModel` (as `llmAgent` does). */
type Model = Parameters<typeof llmAgent>[0]['model'];

/** What the `query-generator` step receives: the schema context and the last check (with the refused tries). */
interface GeneratorInput {
  readonly context: SchemaContext;
  readonly check?: { readonly history: readonly { sql: string; problems: readonly string[] }[] } | undefined;
}

const QUERY_SYSTEM = [
  'You write one PostgreSQL SELECT statement that answers a request about a database.',
  'Use only the tables and columns listed. Qualify tables with their schema and quote identifiers.',
  'Pass every literal value from the request as a parameter ($1, $2, ...) listed in order in "params".',
  'Keep every grouping, aggregate, filter and limit the request asks for; never drop one silently.',
  'Put in "explanation" one sentence saying what the query returns.',
  'If the request cannot be answered from this schema, answer with an empty "sql" and say why in "explanation".',
].join('\n');

/** The user message of the query generator: the request, the schema, and the tries refused so far. */
function queryPrompt({ context, check }: GeneratorInput): string {
  const tables = context.tables.map((t) => JSON.stringify(t)).join('\n');
  const refused = (check?.history ?? [])
    .map((h, i) => `Try ${i + 1}: ${h.sql}\nRefused because: ${h.problems.join('; ')}`)
    .join('\n\n');
  return [
    `Request: ${context.request}`,
    `Schema "${context.schema}", one table per line (columns, keys, common values):\n${tables}`,
    refused ? `Earlier tries were refused; fix what they got wrong:\n${refused}` : '',
  ]
    .filter((s) => s !== '')
    .join('\n\n');
}

/**
 * The query-generation template's `query-generator` agent on a model: a candidate `{ sql, params, explanation }`
 * that the template's `check` step then judges (read-only, semantic checks, EXPLAIN, sample rows).
 *
 * @example
 * ```ts
 * const agents = { ...queryGenerationTemplate.agents(db), 'query-generator': queryGeneratorLlm(openai('gpt-4o-mini')) };
 * ```
 */
export function queryGeneratorLlm(model: Model) {
  return llmAgent<GeneratorInput, (typeof CandidateSchema)['_output']>({
    model,
    name: 'query-generator',
    system: QUERY_SYSTEM,
    prompt: queryPrompt,
    output: CandidateSchema,
    temperature: 0,
  });
}

/** What the `optimization-propose` step receives: the collected queries (with the tables) and their plans. */
interface ProposerInput {
  readonly collect: Collected;
  readonly explain: readonly (Baseline | null)[];
}

/** What the model answers for `optimization-propose`: indexes as DDL, each for a query of the workload. */
export const IndexProposalsSchema = z.object({
  proposals: z
    .array(
      z.object({
        query: z.string().describe('the id of the query the index serves, e.g. "q1"'),
        ddl: z.string().describe('exactly one CREATE INDEX CONCURRENTLY statement'),
        reason: z.string().describe('one sentence: which plan node the index replaces'),
      }),
    )
    .max(20),
  notes: z.array(z.string()).max(20),
});

const OPTIMIZATION_SYSTEM = [
  'You propose PostgreSQL indexes that would speed up slow queries, reading their plans.',
  'Each proposal is exactly one statement: CREATE INDEX CONCURRENTLY "<new name>" ON "<schema>"."<table>" ("<column>", ...);',
  'Only plain columns listed for the table, btree, no UNIQUE, no WHERE, no INCLUDE, no expressions; nothing else.',
  'Name each index uniquely (at most 63 characters), unlike any existing index.',
  'Propose only where the plan shows a sequential scan whose filter discards most rows, or a sort an index would avoid; put equality columns first.',
  'Give the id of the query each index serves in "query". Propose nothing when no index would help, and say why in "notes".',
  'Every proposal is parsed and checked, and only then tried in a transaction that rolls back.',
].join('\n');

/** The user message of the index proposer: the queries with their plans, and the tables they may index. */
function optimizationPrompt({ collect, explain }: ProposerInput): string {
  const queries = explain
    .filter((b): b is Baseline => b !== null)
    .map((b) => {
      const scans = b.measure.nodes
        .filter((n) => n.filter !== null || n.sortKey.length > 0)
        .map(
          (n) =>
            `  ${n.nodeType}${n.relation ? ` on ${n.relation}` : ''}${n.filter ? ` filter ${n.filter}` : ''}` +
            `${n.rowsRemovedByFilter !== null ? ` (removed ${n.rowsRemovedByFilter} rows, kept ${n.actualRows ?? n.planRows})` : ` (planned ${n.planRows} rows)`}` +
            `${n.sortKey.length > 0 ? ` sort key ${n.sortKey.join(', ')}` : ''}`,
        )
        .join('\n');
      const time =
        b.measure.method === 'estimate'
          ? `estimated cost ${b.measure.totalCost}`
          : `${b.measure.medianMs} ms`;
      return `Query ${b.query.id} (${b.query.calls} calls, ${time}):\n${b.query.sql}\nPlan: ${b.measure.shape}${scans ? `\n${scans}` : ''}`;
    })
    .join('\n\n');
  const tables = (collect.tables ?? [])
    .slice(0, 100)
    .map((t) => JSON.stringify({ table: t.name, columns: t.columns, indexes: t.indexes }))
    .join('\n');
  return [
    `Schema "${collect.schema}".`,
    queries ? `The queries and their plans:\n\n${queries}` : 'No queries were measured.',
    `The tables, one per line (columns, existing indexes):\n${tables}`,
  ].join('\n\n');
}

/**
 * The optimization template's `optimization-propose` agent on a model: index proposals written by the model from
 * the queries' plans and the tables' columns, as `{ proposals, notes }`. The template's `judge` step then parses
 * every proposal's DDL and refuses anything but one `CREATE INDEX CONCURRENTLY` on plain columns of a table the
 * workload reads; the trials measure the rest and `minSpeedup` decides.
 *
 * @example
 * ```ts
 * const agents = { ...optimizationTemplate.agents(db), 'optimization-propose': optimizationProposerLlm(openai('gpt-4o-mini')) };
 * ```
 */
export function optimizationProposerLlm(model: Model) {
  const propose = llmAgent<ProposerInput, z.infer<typeof IndexProposalsSchema>>({
    model,
    name: 'optimization-propose',
    system: OPTIMIZATION_SYSTEM,
    prompt: optimizationPrompt,
    output: IndexProposalsSchema,
    temperature: 0,
  });
  return async (
    input: ProposerInput,
    ctx: AgentContext,
  ): Promise<{ proposals: Proposal[]; notes: string[] }> => {
    const answer = await propose(input, ctx);
    // The judge reads the table, name and columns from the DDL and takes the query from the workload by its id.
    const proposals = answer.proposals.map((p, i): Proposal => {
      const query = input.collect.queries.find((q) => q.id === p.query) ?? {
        id: p.query,
        name: p.query,
        sql: '',
        params: [],
        calls: 1,
        generic: false,
        schema: input.collect.schema,
      };
      return {
        id: `llm${i + 1}`,
        query,
        table: '',
        columns: [],
        name: '',
        ddl: p.ddl,
        trialDdl: '',
        reason: p.reason,
      };
    });
    return { proposals, notes: answer.notes.map((n) => `proposer: ${n}`) };
  };
}

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
  return {};
}

/** The ids of the templates that {@link llmAgentsFor} fills (the CLI's `--model` refuses the others). */
export const LLM_TEMPLATES: readonly string[] = ['query-generation', 'optimization'];
