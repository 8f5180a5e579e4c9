/**
 * Measuring a query: EXPLAIN ANALYZE several times and keep the median execution time (the first run warms the
 * cache and is left out). A query under measurement always runs in a READ ONLY transaction; an index is tried by
 * creating it in a transaction that then turns read-only for the query and always rolls back.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { readPlan } from '../lib/plan.js';
import { parsePlan } from '../lib/read-only.js';
import { rolledBack } from '../lib/tx.js';
import type { Measure, Proposal, Query, Trial } from './schemas.js';

/** Options of the measurements. */
export interface MeasureOptions {
  /** Measured runs per plan (after one warm-up run). */
  readonly runs: number;
  readonly statementTimeoutMs: number;
  /** How long creating a trial index may wait for its lock. */
  readonly lockTimeoutMs: number;
}

/** Runs EXPLAIN ANALYZE `runs + 1` times on `tx` and returns the median and the last plan. */
async function explainRuns(tx: Database, query: Query, runs: number): Promise<Measure> {
  const times: number[] = [];
  let last: ReturnType<typeof readPlan> | undefined;
  for (let i = 0; i <= runs; i++) {
    // TIMING OFF: per-node clocks would add their own overhead to what is measured; row counts are kept.
    const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${query.sql}`,
      query.params,
    );
    last = readPlan(parsePlan(rows[0]?.['QUERY PLAN']));
    if (i > 0) times.push(last.executionMs ?? 0);
  }
  const plan = last as ReturnType<typeof readPlan>;
  return {
    medianMs: median(times),
    runsMs: times,
    planningMs: plan.planningMs,
    totalCost: plan.totalCost,
    shape: plan.shape,
    nodes: plan.nodes.map((n) => ({ ...n, sortKey: [...n.sortKey] })),
  };
}

/** Measures `query` as the database is now, in a READ ONLY transaction. */
export function measure(db: Database, query: Query, options: MeasureOptions): Promise<Measure> {
  return db.transaction((tx) => explainRuns(tx, query, options.runs), {
    readOnly: true,
    statementTimeoutMs: options.statementTimeoutMs,
  });
}

/** Measures the proposal's query without and with its index; the index never outlives the trial. */
export async function tryIndex(db: Database, proposal: Proposal, options: MeasureOptions): Promise<Trial> {
  const before = await measure(db, proposal.query, options);
  const { after, buildMs } = await rolledBack(
    db,
    async (tx) => {
      const started = performance.now();
      await tx.query(proposal.ddl);
      const buildMs = Math.round((performance.now() - started) * 10) / 10;
      // Read-only from here on: the query under test cannot write, even in this read-write transaction.
      await tx.query("SELECT set_config('transaction_read_only', 'on', true)");
      return { after: await explainRuns(tx, proposal.query, options.runs), buildMs };
    },
    { statementTimeoutMs: options.statementTimeoutMs, lockTimeoutMs: options.lockTimeoutMs },
  );
  const { nodes: _before, ...beforeSummary } = before;
  const { nodes, ...afterSummary } = after;
  return {
    proposal,
    before: beforeSummary,
    after: afterSummary,
    buildMs,
    usesIndex: nodes.some((n) => n.indexName === proposal.name),
    speedup: Math.round((before.medianMs / Math.max(after.medianMs, 0.001)) * 10) / 10,
  };
}

/** `CREATE INDEX "name" ON "schema"."table" ("a", "b")`. */
export function indexDdl(schema: string, table: string, name: string, columns: readonly string[]): string {
  return `CREATE INDEX ${quoteIdent(name)} ON ${qualifiedName(schema, table)} (${columns.map(quoteIdent).join(', ')})`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return Math.round((value ?? 0) * 1000) / 1000;
}
