/**
 * The default agents of the query generation: the schema context, the generator (pluggable), the check that runs
 * every candidate read-only, the human review asked for after the last try, and the report.
 */
import type { Database } from '../../src/db/index.js';
import type { AgentRegistry } from '../../src/index.js';
import { defineAgent } from '../lib/agent.js';
import { defaultSchema } from '../lib/catalog.js';
import { readPlan } from '../lib/plan.js';
import { checkReadOnlySql, runReadOnly } from '../lib/read-only.js';
import { type Candidate, CandidateSchema, deterministicGenerator, type QueryGenerator } from './generator.js';
import { emptySchema, type SchemaContext, SchemaContextSchema, schemaContext } from './schema-context.js';
import {
  type Check,
  CheckSchema,
  HumanQuerySchema,
  QueryGenerationInputSchema,
  QueryReportSchema,
  ResultsSchema,
} from './schemas.js';
import { semanticProblems } from './semantic-check.js';
import { requirementsOf } from './semantics.js';

/** Options of {@link queryGenerationAgents}. */
export interface QueryGenerationAgentOptions {
  /** The generator: an LLM adapter, or the deterministic default. */
  readonly generator?: QueryGenerator;
  /** Bounds every statement a candidate runs (EXPLAIN and the sample). @default 5000 */
  readonly statementTimeoutMs?: number;
  /** Rows of the sample. @default 10 */
  readonly sampleRows?: number;
}

/** No candidate passed the check: the `review` step asks a human for a query (or for none). */
class QueryNotFoundError extends Error {
  readonly code = 'QUERY_NOT_FOUND';
  /** The generator had its tries; the same ones would fail again. */
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'QueryNotFoundError';
  }
}

/**
 * The default agents of the query generation template, working on `db`.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents: queryGenerationAgents(db, { generator: myLlm }) });
 * const report = await engine.start(queryGeneration, { request: 'how many orders are shipped' }).result;
 * ```
 */
export function queryGenerationAgents(
  db: Database,
  options: QueryGenerationAgentOptions = {},
): AgentRegistry {
  const generator = options.generator ?? deterministicGenerator;
  const statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
  const limit = options.sampleRows ?? 10;

  /**
   * Checks a candidate: statically, then EXPLAIN and sample rows, read-only, then against what the request asks
   * (unless a human wrote it: their query is their answer). A query that runs but drops part of the request is
   * refused like one that does not run: "answered" means the SQL does all the request says.
   */
  const check = async (
    candidate: Candidate,
    attempt: number,
    history: Check['history'],
    context: SchemaContext,
    semantic = true,
  ): Promise<Check> => {
    const { statement, problems } = await checkReadOnlySql(candidate.sql, candidate.params);
    if (candidate.sql.trim() === '' && candidate.explanation !== '') problems.push(candidate.explanation);
    // On a schema without tables the reason is all there is to say ("The query is empty" is only its effect).
    const empty = emptySchema(context);
    if (empty !== null && semantic) problems.splice(0, problems.length, empty);
    let sample: Check['sample'] = [];
    let plan: Check['plan'] = null;
    // Only a candidate that passed the static check runs at all; it then runs read-only whatever it contains.
    if (problems.length === 0) {
      try {
        const result = await runReadOnly(db, statement, candidate.params, {
          statementTimeoutMs,
          limit,
          explain: 'FORMAT JSON',
        });
        const read = readPlan(result.plan);
        plan = { totalCost: read.totalCost, shape: read.shape };
        sample = result.rows;
      } catch (error) {
        problems.push(`The database refused it: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (semantic) {
        problems.push(...semanticProblems(requirementsOf(context), candidate.sql, candidate.params, context));
      }
    }
    const ok = problems.length === 0;
    return {
      ok,
      attempt,
      candidate,
      problems,
      columns: sample[0] ? Object.keys(sample[0]) : [],
      sample,
      plan,
      history: ok ? history : [...history, { attempt, sql: candidate.sql, problems }],
    };
  };

  return {
    'query-context': defineAgent({
      name: 'query-context',
      input: QueryGenerationInputSchema,
      output: SchemaContextSchema,
      run: async ({ request, schema }) => schemaContext(db, request, schema ?? (await defaultSchema(db))),
    }),
    'query-generator': defineAgent({
      name: 'query-generator',
      input: ResultsSchema,
      output: CandidateSchema,
      run: async ({ context, check: previous }, ctx) => {
        // Nothing to query: no generator (an LLM) is called for it.
        const empty = emptySchema(context);
        if (empty !== null) return { sql: '', params: [], explanation: empty };
        const history = previous?.history ?? [];
        const raw: unknown = await generator({
          context,
          attempt: history.length + 1,
          previous: history,
          signal: ctx.signal,
        });
        const parsed = CandidateSchema.safeParse(raw);
        if (parsed.success) return parsed.data;
        // A malformed answer is a failed try like any other: it is fed back, not thrown.
        const sql =
          typeof (raw as { sql?: unknown } | null)?.sql === 'string' ? (raw as { sql: string }).sql : '';
        const issues = parsed.error.issues
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ');
        return { sql, params: [], explanation: `The generator returned an invalid candidate: ${issues}` };
      },
    }),
    'query-check': defineAgent({
      name: 'query-check',
      input: ResultsSchema.required({ generate: true }),
      output: CheckSchema,
      run: ({ context, generate, check: previous }) => {
        const history = previous?.history ?? [];
        return check(generate, history.length + 1, history, context);
      },
    }),
    'query-review': defineAgent({
      name: 'query-review',
      input: ResultsSchema,
      // What the step's result is: a human's query, or null (unanswered) when there is no one to ask.
      output: HumanQuerySchema.nullable(),
      run: ({ context, check: last }) => {
        // A schema without tables: no human can write a query on it either; unanswered, with the reason.
        if (emptySchema(context) !== null) return null;
        const tries = (last?.history ?? []).map((h) => `#${h.attempt}: ${h.problems.join(', ')}`).join(' | ');
        throw new QueryNotFoundError(
          `No query for "${context.request}" passed the check (${tries}). Resolve with resolveEscalation('review', { action: 'skip', value: { sql, params } }), or value null to leave it unanswered`,
        );
      },
    }),
    'query-report': defineAgent({
      name: 'query-report',
      input: ResultsSchema,
      output: QueryReportSchema,
      run: async ({ context, check: last, review }) => {
        // On a schema without tables no generator was called: no candidate was tried, whatever the loop counted.
        const empty = emptySchema(context) !== null;
        const history = empty ? [] : (last?.history ?? []);
        const attempts = empty ? 0 : (last?.attempt ?? 0);
        let final = last?.ok ? last : undefined;
        let source: 'generator' | 'human' | null = final ? 'generator' : null;
        // A human's query gets the same check as a generated one: it runs read-only or not at all.
        if (!final && review) {
          final = await check({ ...review }, attempts + 1, history, context, false);
          source = 'human';
        }
        const answered = final?.ok === true;
        return {
          request: context.request,
          status: answered ? 'answered' : 'unanswered',
          source: answered ? source : null,
          sql: final?.candidate.sql ?? null,
          params: final?.candidate.params ?? [],
          explanation: final?.candidate.explanation ?? emptySchema(context) ?? 'No query passed the check',
          attempts,
          history,
          columns: answered ? (final?.columns ?? []) : [],
          sample: answered ? (final?.sample ?? []) : [],
          plan: answered ? (final?.plan ?? null) : null,
          problems: answered ? [] : (final?.problems ?? last?.problems ?? []),
        };
      },
    }),
  };
}
