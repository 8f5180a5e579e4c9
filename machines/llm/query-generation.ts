/** query-generation's LLM seam: the `query-generator` step on a model. */
import { llmAgent } from '../../src/ai/index.js';
import { identifierWords } from '../lib/references.js';
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

/**
 * Characters of table descriptions one prompt holds (about 12,000 tokens): a schema of hundreds of tables (a SaaS,
 * 650 KB for 1,000 tables) would not fit a model's context, nor be worth its cost. Past it, tables are named only.
 */
const TABLES_BUDGET = 48_000;
/** Characters of table names listed after the descriptions. */
const NAMES_BUDGET = 8_000;

/** A word's singular, roughly, for matching the request's words with identifiers' (orders, order; categories). */
const fold = (w: string) =>
  w.endsWith('ies') ? `${w.slice(0, -3)}y` : /(ss|us|is)$/.test(w) ? w : w.endsWith('s') ? w.slice(0, -1) : w;

/**
 * The tables in the order a prompt describes them: those the request names (every word of their name, else the
 * best partial matches), then the tables their foreign keys link them to, then by how many words of their name and
 * columns the request holds, then the largest.
 */
function byRelevance(context: SchemaContext): SchemaContext['tables'] {
  const asked = new Set((context.request.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map(fold));
  const share = (name: string) => {
    const words = identifierWords(name).map(fold);
    return words.length === 0 ? 0 : words.filter((w) => asked.has(w)).length / words.length;
  };
  const strength = new Map(context.tables.map((t) => [t.name, share(t.name)]));
  const best = Math.max(0, ...strength.values());
  const named = new Set(
    context.tables.filter((t) => best > 0 && strength.get(t.name) === best).map((t) => t.name),
  );
  const linked = new Set<string>();
  for (const t of context.tables) {
    for (const fk of t.foreignKeys) {
      if (named.has(t.name)) linked.add(fk.refTable);
      if (named.has(fk.refTable)) linked.add(t.name);
    }
  }
  const score = (t: SchemaContext['tables'][number]) =>
    (named.has(t.name) ? 1000 : 0) +
    (linked.has(t.name) ? 100 : 0) +
    10 * (strength.get(t.name) ?? 0) +
    Math.min(5, t.columns.filter((c) => share(c.name) === 1).length);
  return [...context.tables].sort((a, b) => score(b) - score(a) || b.estimatedRows - a.estimatedRows);
}

/** The tables of the prompt: described one per line within {@link TABLES_BUDGET}, the rest named. */
function describeTables(context: SchemaContext): string {
  const all = context.tables.map((t) => JSON.stringify(t)).join('\n');
  if (all.length <= TABLES_BUDGET) return all;
  const lines: string[] = [];
  const rest: string[] = [];
  let used = 0;
  for (const table of byRelevance(context)) {
    const line = JSON.stringify(table);
    if (rest.length === 0 && (lines.length === 0 || used + line.length <= TABLES_BUDGET)) {
      lines.push(line);
      used += line.length + 1;
    } else rest.push(table.name);
  }
  if (rest.length === 0) return lines.join('\n');
  let names = '';
  let listed = 0;
  for (const name of rest) {
    if (names.length + name.length > NAMES_BUDGET) break;
    names += `${listed === 0 ? '' : ', '}${JSON.stringify(name)}`;
    listed++;
  }
  const more = rest.length - listed;
  return `${lines.join('\n')}\n${rest.length} more table(s) not described here (the request does not name them): ${names}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The user message of the query generator: the request, the schema, and the tries refused so far. */
function queryPrompt({ context, check }: GeneratorInput): string {
  const tables = describeTables(context);
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
