/**
 * Measuring a query: EXPLAIN ANALYZE several times and keep the median execution time (the first run warms the
 * cache and is left out), always in a READ ONLY transaction. A query without values for its `$n` is planned
 * generically (PREPARE under plan_cache_mode = force_generic_plan: PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN))
 * and judged on the planner's cost. An index is tried hypothetically with HypoPG where the extension is installed
 * (nothing is built, nothing locked), or, only when asked, built in a transaction that always rolls back.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { ConfigurationError } from '../../src/index.js';
import type { Catalog } from '../lib/catalog.js';
import { loadParser, parseSql, rangeVar } from '../lib/pg-parser.js';
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
  /**
   * The time one measurement may spend running the query again: once the warm-up and the runs so far have taken
   * this long, no more runs start (at least one is measured). A slow recorded query is run twice, not `runs + 1`
   * times, on a live database. @default 10000
   */
  readonly budgetMs?: number;
}

/** The default of {@link MeasureOptions.budgetMs}. */
const RUN_BUDGET_MS = 10_000;

/** How a proposal is tried: see {@link TrialSchema}'s `method`. */
export type TrialMethod = 'hypothetical' | 'real' | 'none';

/** EXPLAIN (FORMAT JSON) of a generic query: PREPAREd with no values, planned generically, deallocated. */
async function explainGeneric(tx: Database, query: Query): Promise<ReturnType<typeof readPlan>> {
  const count = Math.max(0, ...[...query.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  await tx.query("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)");
  // PREPARE outlives a rollback: a name of its own, so one left behind by an aborted transaction never collides.
  const name = `flowstate_generic_${Math.random().toString(36).slice(2, 10)}`;
  await tx.query(`PREPARE ${name} AS ${query.sql}`);
  try {
    const args = count > 0 ? `(${Array.from({ length: count }, () => 'NULL').join(', ')})` : '';
    const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) EXECUTE ${name}${args}`,
    );
    return readPlan(parsePlan(rows[0]?.['QUERY PLAN']));
  } finally {
    await tx.query(`DEALLOCATE ${name}`).catch(() => undefined);
  }
}

/**
 * Runs EXPLAIN ANALYZE `runs + 1` times on `tx` (or EXPLAIN once, `estimate`), fewer once `budgetMs` is spent, and
 * returns the median and the last plan.
 */
async function explainRuns(
  tx: Database,
  query: Query,
  runs: number,
  estimate = false,
  budgetMs = RUN_BUDGET_MS,
): Promise<Measure> {
  // The query's schema first on the path, for its unqualified names; the path is local to the transaction.
  await tx.query("SELECT set_config('search_path', $1 || ', ' || current_setting('search_path'), true)", [
    quoteIdent(query.schema),
  ]);
  const times: number[] = [];
  let last: ReturnType<typeof readPlan> | undefined;
  if (query.generic || estimate) {
    last = query.generic
      ? await explainGeneric(tx, query)
      : readPlan(
          parsePlan(
            (await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${query.sql}`, query.params))
              .rows[0]?.['QUERY PLAN'],
          ),
        );
  } else {
    const started = performance.now();
    for (let i = 0; i <= runs; i++) {
      // The warm-up and at least one measured run; then only while the budget lasts.
      if (i > 1 && performance.now() - started >= budgetMs) break;
      // TIMING OFF: per-node clocks would add their own overhead to what is measured; row counts are kept.
      const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${query.sql}`,
        query.params,
      );
      last = readPlan(parsePlan(rows[0]?.['QUERY PLAN']));
      if (i > 0) times.push(last.executionMs ?? 0);
    }
  }
  const plan = last as ReturnType<typeof readPlan>;
  return {
    method: query.generic || estimate ? 'estimate' : 'analyze',
    medianMs: median(times),
    runsMs: times,
    planningMs: plan.planningMs,
    totalCost: plan.totalCost,
    shape: plan.shape,
    nodes: plan.nodes.map((n) => ({ ...n, sortKey: [...n.sortKey] })),
  };
}

/** Measures `query` as the database is now, in a READ ONLY transaction. */
export function measure(
  db: Database,
  query: Query,
  options: MeasureOptions,
  estimate = false,
): Promise<Measure> {
  return db.transaction((tx) => explainRuns(tx, query, options.runs, estimate, options.budgetMs), {
    readOnly: true,
    statementTimeoutMs: options.statementTimeoutMs,
  });
}

/** Whether HypoPG is installed in the database (installing it is the owner's decision, never the template's). */
export async function hasHypopg(db: Database): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'");
  return rows.length > 0;
}

/** Measures the proposal's query without and with its index; the index never outlives the trial. */
export async function tryIndex(
  db: Database,
  proposal: Proposal,
  options: MeasureOptions,
  method: TrialMethod,
): Promise<Trial> {
  if (method !== 'none') await checkTrialDdl(proposal);
  if (method === 'hypothetical') return tryHypothetical(db, proposal, options);
  const before = await measure(db, proposal.query, options);
  if (method === 'none') return trial(proposal, before, before, 0, 'none', false);
  const { after, buildMs, names } = await rolledBack(
    db,
    async (tx) => {
      const started = performance.now();
      await tx.query(proposal.trialDdl);
      const buildMs = Math.round((performance.now() - started) * 10) / 10;
      // On a partitioned table the plan uses the partitions' indexes, which PostgreSQL names itself.
      const { rows } = await tx.query<{ name: string }>(
        'SELECT c.relname AS name FROM pg_partition_tree(to_regclass($1)) t JOIN pg_class c ON c.oid = t.relid',
        [`${quoteIdent(proposal.query.schema)}.${quoteIdent(proposal.name)}`],
      );
      // Read-only from here on: the query under test cannot write, even in this read-write transaction.
      await tx.query("SELECT set_config('transaction_read_only', 'on', true)");
      const after = await explainRuns(tx, proposal.query, options.runs, false, options.budgetMs);
      return { after, buildMs, names: rows.map((r) => r.name) };
    },
    { statementTimeoutMs: options.statementTimeoutMs, lockTimeoutMs: options.lockTimeoutMs },
  );
  const uses = after.nodes.some((n) => n.indexName === proposal.name || names.includes(n.indexName ?? ''));
  return trial(proposal, before, after, buildMs, 'real', uses);
}

/**
 * The last guard before a trial runs DDL (the judge step rebuilds it, but that step can be overridden too): one
 * plain `CREATE INDEX` on the proposal's table, else a `ConfigurationError` and nothing runs.
 */
async function checkTrialDdl(proposal: Proposal): Promise<void> {
  await loadParser();
  const statements = parseSql(proposal.trialDdl);
  const index = statements[0];
  const table = index?.type === 'IndexStmt' ? rangeVar(index.node.relation) : undefined;
  if (statements.length !== 1 || !table || table.name !== proposal.table || index?.node.concurrent) {
    throw new ConfigurationError(
      `proposal ${proposal.id}: its trial DDL is not one plain CREATE INDEX on ${proposal.table}; not tried`,
    );
  }
}

/** HypoPG: the planner sees the index, nothing is built; estimates before and after are compared. */
async function tryHypothetical(db: Database, proposal: Proposal, options: MeasureOptions): Promise<Trial> {
  return rolledBack(
    db,
    async (tx) => {
      const before = await explainRuns(tx, proposal.query, options.runs, true);
      const { rows } = await tx.query<{ name: string }>(
        'SELECT indexname AS name FROM hypopg_create_index($1)',
        [proposal.trialDdl],
      );
      try {
        const after = await explainRuns(tx, proposal.query, options.runs, true);
        const name = rows[0]?.name ?? '';
        return trial(
          proposal,
          before,
          after,
          0,
          'hypothetical',
          after.nodes.some((n) => n.indexName === name),
        );
      } finally {
        await tx.query('SELECT hypopg_reset()');
      }
    },
    { readOnly: true, statementTimeoutMs: options.statementTimeoutMs },
  );
}

function trial(
  proposal: Proposal,
  before: Measure,
  after: Measure,
  buildMs: number,
  method: TrialMethod,
  usesIndex: boolean,
): Trial {
  const { nodes: _before, ...beforeSummary } = before;
  const { nodes: _after, ...afterSummary } = after;
  // Estimates are compared as costs; timed runs as median times.
  const ratio =
    before.method === 'estimate' || after.method === 'estimate'
      ? before.totalCost / Math.max(after.totalCost, 0.001)
      : before.medianMs / Math.max(after.medianMs, 0.001);
  return {
    proposal,
    before: beforeSummary,
    after: afterSummary,
    buildMs,
    method,
    usesIndex,
    speedup: method === 'none' ? 0 : Math.round(ratio * 10) / 10,
  };
}

/** `CREATE INDEX "name" ON "schema"."table" ("a", "b")`: the plain form a trial builds. */
export function indexDdl(schema: string, table: string, name: string, columns: readonly string[]): string {
  return `CREATE INDEX ${quoteIdent(name)} ON ${qualifiedName(schema, table)} (${columns.map(quoteIdent).join(', ')})`;
}

/**
 * The lock-safe form to apply: `CREATE INDEX CONCURRENTLY` (reads and writes go on while it builds; it runs
 * outside a transaction). A partitioned table cannot be indexed concurrently: its index is made on the parent
 * alone (`ON ONLY`, invalid until complete), each leaf partition's concurrently, then attached; a partition that is
 * partitioned in turn gets its own `ON ONLY` index, built the same way over its partitions, then attached. A
 * partition that already has an index on exactly these columns keeps it: it is attached, not built again (Pagila
 * indexes each `payment` partition by hand).
 */
export function lockSafeIndexDdl(
  catalog: Catalog,
  table: string,
  name: string,
  columns: readonly string[],
): string {
  const cols = `(${columns.map(quoteIdent).join(', ')})`;
  const on = (relation: string) => qualifiedName(catalog.schema, relation);
  if (!catalog.tables.find((t) => t.name === table)?.partitioned)
    return `CREATE INDEX CONCURRENTLY ${quoteIdent(name)} ON ${on(table)} ${cols}`;
  const lines = [`CREATE INDEX ${quoteIdent(name)} ON ONLY ${on(table)} ${cols};`];
  const attach = (parent: string, parentIndex: string) => {
    const partitions = catalog.tables.filter((t) => t.partitionOf === parent);
    for (const [i, partition] of partitions.entries()) {
      const existing = partition.indexes.find(
        (x) =>
          x.valid &&
          !x.unique &&
          x.method === 'btree' &&
          x.predicate === null &&
          x.columns.join('\u0000') === columns.join('\u0000'),
      )?.name;
      const child = existing ?? `${parentIndex.slice(0, 55)}_p${i + 1}`;
      if (existing === undefined && partition.partitioned) {
        lines.push(`CREATE INDEX ${quoteIdent(child)} ON ONLY ${on(partition.name)} ${cols};`);
        attach(partition.name, child);
      } else if (existing === undefined) {
        lines.push(`CREATE INDEX CONCURRENTLY ${quoteIdent(child)} ON ${on(partition.name)} ${cols};`);
      }
      lines.push(`ALTER INDEX ${on(parentIndex)} ATTACH PARTITION ${on(child)};`);
    }
  };
  attach(table, name);
  return lines.join('\n');
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return Math.round((value ?? 0) * 1000) / 1000;
}
