/**
 * The data the optimization's steps pass each other, and its report, as zod schemas.
 */
import { z } from 'zod';

/** A parameter value of a query. */
const ParamSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** A query to optimize, as the input gives it. */
const InputQuerySchema = z.object({
  sql: z.string().trim().min(1).max(100_000),
  params: z.array(ParamSchema).max(100).default([]),
  /** A label for the report. */
  name: z.string().max(200).optional(),
  /** How often the query runs (for the ranking: calls × time saved). @default 1 */
  calls: z.number().positive().optional(),
});

/** The workflow input. */
export const OptimizationInputSchema = z.object({
  /**
   * Queries to optimize; without them, the slowest from pg_stat_statements, else the lookups the catalog's
   * foreign keys imply with no index, else none (the report says there is no workload to optimize).
   */
  queries: z.array(InputQuerySchema).min(1).max(50).optional(),
  /** The schema whose tables may get indexes. @default `public` when it has tables, else the largest user schema */
  schema: z.string().min(1).max(63).optional(),
});
/** The workflow input, as given. */
export type OptimizationInput = z.input<typeof OptimizationInputSchema>;

/** A query with its id. */
export const QuerySchema = z.object({
  id: z.string(),
  name: z.string(),
  sql: z.string(),
  params: z.array(ParamSchema),
  /** How often it runs (pg_stat_statements' calls, else the input's, else 1). */
  calls: z.number().default(1),
  /**
   * It holds `$n` without values (a normalized pg_stat_statements entry): it is planned generically (PREPARE with
   * plan_cache_mode = force_generic_plan) and judged on the planner's estimates, never run.
   */
  generic: z.boolean().default(false),
  /** The schema searched first for its unqualified names (the input's schema). */
  schema: z.string().default('public'),
});
/** A query with its id. */
export type Query = z.infer<typeof QuerySchema>;

/** The `collect` step's output. */
export const CollectedSchema = z.object({
  schema: z.string(),
  /**
   * `catalog`: lookups the foreign keys imply (no workload recorded); `none`: nothing to optimize; `sample`: our
   * sample database's slow query, only on the sample.
   */
  source: z.enum(['input', 'pg_stat_statements', 'catalog', 'sample', 'none']),
  notes: z.array(z.string()),
  queries: z.array(QuerySchema),
  /** The tables of the schema with their columns and indexes (what an LLM proposer is shown). */
  tables: z
    .array(z.object({ name: z.string(), columns: z.array(z.string()), indexes: z.array(z.string()) }))
    .optional(),
});
/** The `collect` step's output. */
export type Collected = z.infer<typeof CollectedSchema>;

/** A plan node, as `readPlan` gives it. */
const PlanNodeSchema = z.object({
  depth: z.number(),
  nodeType: z.string(),
  relation: z.string().nullable(),
  schema: z.string().nullable(),
  alias: z.string().nullable(),
  indexName: z.string().nullable(),
  filter: z.string().nullable(),
  indexCond: z.string().nullable(),
  hashCond: z.string().nullable(),
  sortKey: z.array(z.string()),
  totalCost: z.number(),
  planRows: z.number(),
  actualRows: z.number().nullable(),
  loops: z.number().nullable(),
  rowsRemovedByFilter: z.number().nullable(),
});

/** A measured plan: the median execution time of several EXPLAIN ANALYZE runs, or the planner's estimate. */
export const MeasureSchema = z.object({
  /** `analyze`: timed runs; `estimate`: EXPLAIN only (a generic query, or a HypoPG trial), judged on cost. */
  method: z.enum(['analyze', 'estimate']).default('analyze'),
  medianMs: z.number(),
  runsMs: z.array(z.number()),
  planningMs: z.number().nullable(),
  totalCost: z.number(),
  shape: z.string(),
  nodes: z.array(PlanNodeSchema),
});
/** A measured plan. */
export type Measure = z.infer<typeof MeasureSchema>;

/** One `explain` map item's output. */
export const BaselineSchema = z.object({ query: QuerySchema, measure: MeasureSchema });
/** One `explain` map item's output. */
export type Baseline = z.infer<typeof BaselineSchema>;

/** An index to try, for one query. */
export const ProposalSchema = z.object({
  id: z.string(),
  query: QuerySchema,
  table: z.string(),
  columns: z.array(z.string()),
  /** The index name (unique in the schema). */
  name: z.string(),
  /** The lock-safe DDL to apply: CONCURRENTLY, and on a partitioned table, per partition then attached. */
  ddl: z.string(),
  /** The plain `CREATE INDEX` a trial builds (hypothetically, or for real in a rolled-back transaction). */
  trialDdl: z.string(),
  reason: z.string(),
});
/** An index to try. */
export type Proposal = z.infer<typeof ProposalSchema>;

/** The `propose` step's output. */
export const ProposalsSchema = z.object({ proposals: z.array(ProposalSchema), notes: z.array(z.string()) });

/** The `judge` step's output: the proposals to try (rebuilt from their checked DDL) and the refused ones. */
export const JudgedSchema = z.object({
  proposals: z.array(ProposalSchema),
  refused: z.array(z.object({ id: z.string(), ddl: z.string(), reason: z.string() })),
});

/** One `trial` map item's output: the plan and time before and after the index, measured. */
export const TrialSchema = z.object({
  proposal: ProposalSchema,
  before: MeasureSchema.omit({ nodes: true }),
  after: MeasureSchema.omit({ nodes: true }),
  buildMs: z.number(),
  /**
   * `hypothetical`: a HypoPG index (nothing built, estimates compared); `real`: built in a rolled-back
   * transaction and timed; `none`: not tried (no HypoPG, and real trials not asked for).
   */
  method: z.enum(['hypothetical', 'real', 'none']).default('real'),
  /** Whether the plan with the index uses it. */
  usesIndex: z.boolean(),
  /** Median time (or estimated cost) before / after. */
  speedup: z.number(),
});
/** One `trial` map item's output. */
export type Trial = z.infer<typeof TrialSchema>;

/** The results the last steps read. */
export const ResultsSchema = z.object({
  collect: CollectedSchema,
  explain: z.array(BaselineSchema.nullable()),
  propose: ProposalsSchema.optional(),
  judge: JudgedSchema.optional(),
  trial: z.array(TrialSchema.nullable()).optional(),
});

/** A recommended index, with its measured effect. */
const RecommendationSchema = z.object({
  ddl: z.string(),
  table: z.string(),
  columns: z.array(z.string()),
  query: z.string(),
  reason: z.string(),
  beforeMs: z.number(),
  afterMs: z.number(),
  speedup: z.number(),
  /**
   * What the speed-up compares: `time`, medians of timed runs (`beforeMs`, `afterMs`); `cost`, the planner's
   * estimated costs (`costBefore`, `costAfter`: a HypoPG trial, or a query planned generically, never run), where
   * the times are not measured both sides and must not be shown as if they were.
   */
  judgedOn: z.enum(['time', 'cost']),
  costBefore: z.number(),
  costAfter: z.number(),
  /** How the effect was judged (see the trial's method). */
  method: z.enum(['hypothetical', 'real', 'none']),
  calls: z.number(),
  /** The ranking: calls × the share of the query's time (or cost) the index saves. */
  impact: z.number(),
  planBefore: z.string(),
  planAfter: z.string(),
});

/** The optimization report: the workflow's output. */
export const OptimizationReportSchema = z.object({
  schema: z.string(),
  source: CollectedSchema.shape.source,
  notes: z.array(z.string()),
  queries: z.array(
    z.object({ id: z.string(), name: z.string(), sql: z.string(), medianMs: z.number(), plan: z.string() }),
  ),
  recommendations: z.array(RecommendationSchema),
  /** Proposals that were tried and did not help enough, and those the judge refused (never tried). */
  rejected: z.array(
    z.object({ ddl: z.string(), speedup: z.number(), usesIndex: z.boolean(), why: z.string() }),
  ),
});
/** The optimization report. */
export type OptimizationReport = z.infer<typeof OptimizationReportSchema>;
