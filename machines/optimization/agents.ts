/**
 * The default agents of the optimization: collect queries, measure each (EXPLAIN ANALYZE, read-only), propose
 * indexes from the plans, try each in a transaction that rolls back, and recommend the ones that pay off.
 */
import type { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import type { AgentRegistry } from '../../src/index.js';
import { defineAgent } from '../lib/agent.js';
import { introspect } from '../lib/catalog.js';
import { collectQueries } from './collect.js';
import { type MeasureOptions, measure, tryIndex } from './measure.js';
import { proposeIndexes } from './propose.js';
import {
  type Baseline,
  BaselineSchema,
  CollectedSchema,
  OptimizationInputSchema,
  type OptimizationReport,
  OptimizationReportSchema,
  ProposalSchema,
  ProposalsSchema,
  QuerySchema,
  ResultsSchema,
  type Trial,
  TrialSchema,
} from './schemas.js';

/** Options of {@link optimizationAgents}. */
export interface OptimizationAgentOptions {
  /** Measured EXPLAIN ANALYZE runs per plan, after a warm-up run; the median counts. @default 5 */
  readonly runs?: number;
  /** The speed-up an index must bring (median before / median after) to be recommended. @default 1.5 */
  readonly minSpeedup?: number;
  /** Bounds every statement (each EXPLAIN ANALYZE, each index build). @default 30000 */
  readonly statementTimeoutMs?: number;
  /** How long a trial index waits for its table's lock. @default 2000 */
  readonly lockTimeoutMs?: number;
}

/**
 * The default agents of the optimization template, working on `db`.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents: optimizationAgents(db, { runs: 7 }) });
 * const report = await engine.start(optimization, { queries: [{ sql: 'SELECT ...', params: [42] }] }).result;
 * ```
 */
export function optimizationAgents(db: Database, options: OptimizationAgentOptions = {}): AgentRegistry {
  const measureOptions: MeasureOptions = {
    runs: options.runs ?? 5,
    statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
    lockTimeoutMs: options.lockTimeoutMs ?? 2_000,
  };
  const minSpeedup = options.minSpeedup ?? 1.5;
  return {
    'optimization-collect': defineAgent({
      name: 'optimization-collect',
      input: OptimizationInputSchema,
      output: CollectedSchema,
      run: (input) => collectQueries(db, input),
    }),
    'optimization-explain': defineAgent({
      name: 'optimization-explain',
      input: QuerySchema,
      output: BaselineSchema,
      run: async (query) => ({ query, measure: await measure(db, query, measureOptions) }),
    }),
    'optimization-propose': defineAgent({
      name: 'optimization-propose',
      input: ResultsSchema,
      output: ProposalsSchema,
      run: async ({ collect, explain }) => {
        const catalog = await introspect(db, collect.schema);
        return proposeIndexes(
          explain.filter((b): b is Baseline => b !== null),
          catalog,
        );
      },
    }),
    'optimization-trial': defineAgent({
      name: 'optimization-trial',
      input: ProposalSchema,
      output: TrialSchema,
      run: (proposal) => tryIndex(db, proposal, measureOptions),
    }),
    'optimization-recommend': defineAgent({
      name: 'optimization-recommend',
      input: ResultsSchema.required({ propose: true, trial: true }),
      output: OptimizationReportSchema,
      run: (results) => recommend(results, minSpeedup),
    }),
  };
}

type Results = z.infer<typeof ResultsSchema>;

/** Keeps, per query, the index with the best measured speed-up above `minSpeedup`; reports the others. */
function recommend(results: Results & { trial: (Trial | null)[] }, minSpeedup: number): OptimizationReport {
  const trials = results.trial.filter((t): t is Trial => t !== null);
  const best = new Map<string, Trial>();
  const rejected: OptimizationReport['rejected'] = [];
  for (const t of trials) {
    const why = !t.usesIndex
      ? 'the planner does not use it'
      : t.speedup < minSpeedup
        ? `speed-up ${t.speedup}x is under ${minSpeedup}x`
        : null;
    if (why) {
      rejected.push({ ddl: t.proposal.ddl, speedup: t.speedup, usesIndex: t.usesIndex, why });
      continue;
    }
    const current = best.get(t.proposal.query.id);
    // A wider index must be clearly faster to win: every column is kept up on every write.
    const better = !current || score(t) > score(current);
    if (current && better) rejected.push(outdone(current, t));
    else if (current) rejected.push(outdone(t, current));
    if (better) best.set(t.proposal.query.id, t);
  }
  return {
    schema: results.collect.schema,
    source: results.collect.source,
    notes: [...results.collect.notes, ...(results.propose?.notes ?? [])],
    queries: results.explain
      .filter((b): b is Baseline => b !== null)
      .map((b) => ({
        id: b.query.id,
        name: b.query.name,
        sql: b.query.sql,
        medianMs: b.measure.medianMs,
        plan: b.measure.shape,
      })),
    recommendations: [...best.values()].map((t) => ({
      ddl: t.proposal.ddl,
      table: t.proposal.table,
      columns: t.proposal.columns,
      query: t.proposal.query.id,
      reason: t.proposal.reason,
      beforeMs: t.before.medianMs,
      afterMs: t.after.medianMs,
      speedup: t.speedup,
      planBefore: t.before.shape,
      planAfter: t.after.shape,
    })),
    rejected,
  };
}

/** A trial's speed-up, discounted by a quarter per column beyond the first. */
function score(t: Trial): number {
  return t.speedup / 1.25 ** (t.proposal.columns.length - 1);
}

function outdone(loser: Trial, winner: Trial): OptimizationReport['rejected'][number] {
  return {
    ddl: loser.proposal.ddl,
    speedup: loser.speedup,
    usesIndex: loser.usesIndex,
    why: `${winner.proposal.name} does as well or better (${winner.speedup}x)`,
  };
}
