/** query-generation's LLM seam: the `query-generator` step on a model. */
import { llmAgent } from '../../src/ai/index.js';
import { CandidateSchema } from '../query-generation/generator.js';
import type { SchemaContext } from '../query-generation/schema-context.js';
import type { Model } from './model.js';

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
