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
});

/** The workflow input. */
export const OptimizationInputSchema = z.object({
  /** Queries to optimize; without them, the slowest from pg_stat_statements, else the sample's slow query. */
  queries: z.array(InputQuerySchema).min(1).max(50).optional(),
  /** The schema whose tables may get indexes. @default 'public' */
  schema: z.string().min(1).max(63).default('public'),
});
/** The workflow input, as given. */
export type OptimizationInput = z.input<typeof OptimizationInputSchema>;

/** A query with its id. */
export const QuerySchema = z.object({
  id: z.string(),
  name: z.string(),
  sql: z.string(),
  params: z.array(ParamSchema),
});
/** A query with its id. */
export type Query = z.infer<typeof QuerySchema>;

/** The `collect` step's output. */
export const CollectedSchema = z.object({
  schema: z.string(),
  source: z.enum(['input', 'pg_stat_statements', 'sample']),
  notes: z.array(z.string()),
  queries: z.array(QuerySchema),
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

/** A measured plan: the median execution time of several EXPLAIN ANALYZE runs. */
export const MeasureSchema = z.object({
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
  ddl: z.string(),
  reason: z.string(),
});
/** An index to try. */
export type Proposal = z.infer<typeof ProposalSchema>;

/** The `propose` step's output. */
export const ProposalsSchema = z.object({ proposals: z.array(ProposalSchema), notes: z.array(z.string()) });

/** One `trial` map item's output: the plan and time before and after the index, measured. */
export const TrialSchema = z.object({
  proposal: ProposalSchema,
  before: MeasureSchema.omit({ nodes: true }),
  after: MeasureSchema.omit({ nodes: true }),
  buildMs: z.number(),
  /** Whether the plan with the index uses it. */
  usesIndex: z.boolean(),
  /** Median time before / median time after. */
  speedup: z.number(),
});
/** One `trial` map item's output. */
export type Trial = z.infer<typeof TrialSchema>;

/** The results the last steps read. */
export const ResultsSchema = z.object({
  collect: CollectedSchema,
  explain: z.array(BaselineSchema.nullable()),
  propose: ProposalsSchema.optional(),
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
  /** Proposals that were tried and did not help enough. */
  rejected: z.array(
    z.object({ ddl: z.string(), speedup: z.number(), usesIndex: z.boolean(), why: z.string() }),
  ),
});
/** The optimization report. */
export type OptimizationReport = z.infer<typeof OptimizationReportSchema>;
