/** optimization's LLM seam: the `optimization-propose` step on a model, judged by `optimization-judge`. */
import { z } from 'zod';
import { llmAgent } from '../../src/ai/index.js';
import type { AgentContext } from '../../src/index.js';
import type { Baseline, Collected, Proposal } from '../optimization/schemas.js';
import type { Model } from './model.js';

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
  // The tables the queries read first: on a schema of hundreds of tables, the first hundred by name may be others.
  const measured = explain.filter((b): b is Baseline => b !== null);
  const relations = new Set(measured.flatMap((b) => b.measure.nodes.map((n) => n.relation)));
  // A name in the SQL text (or a plan's relation): a table the workload reads, or one named like it; only the order.
  const named = (table: string) => relations.has(table) || measured.some((b) => b.query.sql.includes(table));
  const tables = [...(collect.tables ?? [])]
    .sort((a, b) => Number(named(b.name)) - Number(named(a.name)))
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
