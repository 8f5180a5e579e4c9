/**
 * The generator interface (what an LLM adapter implements) and the default: a deterministic, schema-aware
 * generator for common intents. Whatever a generator returns is only a candidate: the check step decides, and
 * the SQL only ever runs read-only.
 */
import { z } from 'zod';
import { compose } from './compose.js';
import { readIntent } from './intent.js';
import type { SchemaContext } from './schema-context.js';

/** A parameter value a candidate may carry. */
export const ParamSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** What a generator returns: one SELECT, its parameters, and what it means in words. */
export const CandidateSchema = z.object({
  sql: z.string().max(100_000),
  params: z.array(ParamSchema).max(100),
  explanation: z.string().max(2_000),
});
/** A generated query. */
export type Candidate = z.infer<typeof CandidateSchema>;

/** An earlier candidate and why it was refused, fed back to the generator. */
export interface Attempt {
  readonly attempt: number;
  readonly sql: string;
  readonly problems: readonly string[];
}

/** What a generator receives. */
export interface GenerationRequest {
  /** The request in plain language, and the schema. */
  readonly context: SchemaContext;
  /** 1 for the first try. */
  readonly attempt: number;
  /** The candidates refused so far, oldest first, with their problems. */
  readonly previous: readonly Attempt[];
  /** Fires when the step times out or the run is cancelled. */
  readonly signal: AbortSignal;
}

/**
 * A query generator: an LLM behind a prompt, or {@link deterministicGenerator}. It may return anything; the
 * template checks it and runs it read-only.
 *
 * @example
 * ```ts
 * const llm: QueryGenerator = async ({ context, previous }) => JSON.parse(await complete(prompt(context, previous)));
 * createEngine({ agents: queryGenerationAgents(db, { generator: llm }) });
 * ```
 */
export type QueryGenerator = (request: GenerationRequest) => Promise<Candidate> | Candidate;

/**
 * The default generator: reads counts ("how many orders have status shipped"), top-N ("top 5 customers by number
 * of orders"), aggregates by a column ("average price of products by category"), filters ("products with price
 * over 100", "orders of customer 42", "customers from FR") and joins along foreign keys ("order items with
 * product names"). Fed back a failure, it drops its filters (the likeliest wrong guess), then falls back to
 * listing the table.
 */
export const deterministicGenerator: QueryGenerator = ({ context, previous }) => {
  const intent = readIntent(context);
  if (!intent) {
    const tables = context.tables.map((t) => t.name).join(', ');
    return {
      sql: '',
      params: [],
      explanation: `No table of schema ${context.schema} is named in the request (it has: ${tables})`,
    };
  }
  const failures = previous.length;
  const simplified =
    failures === 0
      ? intent
      : failures === 1
        ? { ...intent, filters: [] }
        : { kind: 'list' as const, table: intent.table, filters: [], limit: intent.limit };
  const { sql, params, explanation } = compose(simplified, context);
  const note =
    failures === 0
      ? ''
      : failures === 1
        ? ' (filters dropped after a failed try)'
        : ' (plain listing after failed tries)';
  return { sql, params, explanation: `${explanation}${note}` };
};
