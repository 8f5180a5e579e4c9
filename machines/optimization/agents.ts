/**
 * The default agents of the optimization: collect queries, measure each (EXPLAIN ANALYZE, read-only), propose
 * indexes from the plans, try each (hypothetically with HypoPG where it is installed; built in a transaction that
 * rolls back only when asked, or on an embedded PGlite), and recommend the ones that pay off, ranked by calls ×
 * the share of time they save.
 */
import type { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import type { AgentRegistry } from '../../src/index.js';
import { defineAgent } from '../lib/agent.js';
import { introspect } from '../lib/catalog.js';
import { collectQueries } from './collect.js';
import { judgeProposals } from './judge.js';
import { hasHypopg, type MeasureOptions, measure, type TrialMethod, tryIndex } from './measure.js';
import { proposeIndexes } from './propose.js';
import {
  type Baseline,
  BaselineSchema,
  CollectedSchema,
  JudgedSchema,
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
  /**
   * How long one measurement may keep running its query again: past it, no more runs start (at least one is
   * measured), so a slow query is not run `runs + 1` times on a live database. @default 10000
   */
  readonly budgetMs?: number;
  /**
   * How proposals are tried. `auto`: HypoPG's hypothetical indexes where the extension is installed (nothing is
   * built, no lock taken), else a real index only on an embedded PGlite (no other client to block), else none
   * (the proposals are reported untried). `real`: build each in a transaction that rolls back (it holds a SHARE
   * lock on the table, blocking writes, while it builds). @default 'auto'
   */
  readonly trial?: 'auto' | 'hypothetical' | 'real';
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
    budgetMs: options.budgetMs ?? 10_000,
  };
  const minSpeedup = options.minSpeedup ?? 1.5;
  let method: Promise<TrialMethod> | undefined;
  const trialMethod = (): Promise<TrialMethod> => {
    method ??= (async () => {
      if (options.trial === 'real' || options.trial === 'hypothetical') return options.trial;
      if (await hasHypopg(db)) return 'hypothetical';
      return db.dialect === 'pglite' ? 'real' : 'none';
    })();
    return method;
  };
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
        return await proposeIndexes(
          explain.filter((b): b is Baseline => b !== null),
          catalog,
        );
      },
    }),
    'optimization-judge': defineAgent({
      name: 'optimization-judge',
      input: ResultsSchema.required({ propose: true }),
      output: JudgedSchema,
      run: async ({ collect, propose }) =>
        judgeProposals(propose.proposals, await introspect(db, collect.schema), collect.queries),
    }),
    'optimization-trial': defineAgent({
      name: 'optimization-trial',
      input: ProposalSchema,
      output: TrialSchema,
      run: async (proposal) => tryIndex(db, proposal, measureOptions, await trialMethod()),
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
  const rejected: OptimizationReport['rejected'] = (results.judge?.refused ?? []).map((r) => ({
    ddl: r.ddl,
    speedup: 0,
    usesIndex: false,
    why: `refused by the judge, never tried: ${r.reason}`,
  }));
  for (const t of trials) {
    const why =
      t.method === 'none'
        ? "not tried: HypoPG is not installed here (CREATE EXTENSION hypopg), and real trials were not asked for (trial: 'real')"
        : !t.usesIndex
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
    notes: [...results.collect.notes, ...unmeasured(results), ...(results.propose?.notes ?? [])],
    queries: results.explain
      .filter((b): b is Baseline => b !== null)
      .map((b) => ({
        id: b.query.id,
        name: b.query.name,
        sql: b.query.sql,
        medianMs: b.measure.medianMs,
        plan: b.measure.shape,
      })),
    recommendations: [...best.values()]
      .sort((a, b) => impact(b) - impact(a))
      .map((t) => ({
        ddl: t.proposal.ddl,
        table: t.proposal.table,
        columns: t.proposal.columns,
        query: t.proposal.query.id,
        reason: t.proposal.reason,
        ...times(t, results.explain),
        speedup: t.speedup,
        judgedOn: estimated(t) ? ('cost' as const) : ('time' as const),
        costBefore: t.before.totalCost,
        costAfter: t.after.totalCost,
        method: t.method,
        calls: t.proposal.query.calls,
        impact: Math.round(impact(t) * 1000) / 1000,
        planBefore: t.before.shape,
        planAfter: t.after.shape,
      })),
    rejected,
  };
}

/** A note per query whose EXPLAIN failed (its step skipped): the step log has the reason. */
function unmeasured(results: Results): string[] {
  const notes: string[] = [];
  results.collect.queries.forEach((q, i) => {
    if (results.explain[i] == null)
      notes.push(
        `${q.id} (${q.name}) could not be measured and is left out: see explain[${i}] in the step log`,
      );
  });
  return notes;
}

/**
 * The times a recommendation shows. A hypothetical trial compares estimates: its `before` is the query's measured
 * median (0 for a generic query, which never runs) and its `after` that median divided by the estimated speed-up.
 */
function times(t: Trial, baselines: Results['explain']): { beforeMs: number; afterMs: number } {
  if (t.method !== 'hypothetical') return { beforeMs: t.before.medianMs, afterMs: t.after.medianMs };
  const measured = baselines.find((b) => b?.query.id === t.proposal.query.id)?.measure.medianMs ?? 0;
  return { beforeMs: measured, afterMs: Math.round((measured / Math.max(t.speedup, 1)) * 1000) / 1000 };
}

/**
 * What an index is worth across the workload: calls × the time it saves per call (timed trials), or calls × the
 * share of the estimated cost it saves (estimates: costs are not milliseconds, so only their ratio is used).
 */
function impact(t: Trial): number {
  const saved = estimated(t)
    ? 1 - 1 / Math.max(t.speedup, 1)
    : Math.max(t.before.medianMs - t.after.medianMs, 0);
  return t.proposal.query.calls * saved;
}

/** Whether a trial compared the planner's estimates (a side was not timed), as `trial()` computes its speed-up. */
function estimated(t: Trial): boolean {
  return t.before.method === 'estimate' || t.after.method === 'estimate';
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
