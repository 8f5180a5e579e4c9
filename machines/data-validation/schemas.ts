/**
 * The data validation's data, as zod schemas: the input, the rules (from the catalog, the user, or proposed from
 * the data), the per-table tasks the `map` step checks, the column profiles and the report. Everything is JSON,
 * so a run can be checkpointed; no SQL travels in it except the user's own expressions.
 */
import { z } from 'zod';

/** A user rule in the workflow input: a JSON Schema every row of `table` must match, translated to SQL. */
const InputRuleSchema = z.object({
  table: z.string().min(1),
  name: z.string().min(1).max(200),
  /** A JSON Schema for one row, as `{ type: 'object', properties: { difference: { const: 0 } } }`. */
  schema: z.record(z.string(), z.unknown()),
});

/**
 * A rule as a boolean SQL expression every row of `table` must make true (NULL counts as true, as in a CHECK).
 * It may compare rows with others through a subquery: the table is aliased by its own name, so
 * `total = (SELECT sum(i.quantity * i.unit_price) FROM order_items i WHERE i.order_id = orders.id)` works.
 */
const InputCheckSchema = z.object({
  table: z.string().min(1),
  name: z.string().min(1).max(200),
  expression: z.string().min(1).max(10_000),
});

/** The workflow input. Everything is optional: `{}` checks every table of the database's main schema. */
export const DataValidationInputSchema = z.object({
  /** @default `public` when it has tables, else the user schema with the most tables */
  schema: z.string().min(1).max(63).optional(),
  /** Tables (or views) to check. @default every table of the schema (partitioned tables once, not per partition) */
  tables: z.array(z.string().min(1)).min(1).optional(),
  /** User rules as JSON Schemas (translated to SQL). Rules given as zod schemas go to the agents factory. */
  rules: z.array(InputRuleSchema).default([]),
  /** User rules as SQL expressions, checked read-only (cross-row rules through subqueries). */
  checks: z.array(InputCheckSchema).default([]),
  /** Propose rules from the data (negative amounts, orphans without a declared foreign key, future dates). */
  propose: z.boolean().default(true),
  /** Escalate to a human when more than this share of the rows checked breaks a rule. @default 0.05 */
  threshold: z.number().min(0).max(1).default(0.05),
  /** Example rows kept per rule. @default 5 */
  examples: z.number().int().min(0).max(100).default(5),
});
/** The data validation input as given (defaults not applied yet). */
export type DataValidationInput = z.input<typeof DataValidationInputSchema>;

/** What a rule checks. The first five come from the catalog, the next three are proposed from the data. */
const RuleKindSchema = z.enum([
  'not-null',
  'enum',
  'range',
  'check',
  'foreign-key',
  'orphan',
  'non-negative',
  'not-future',
  'user-rule',
  'expression',
]);

/** A rule, as data: the table checker rebuilds its SQL from it (catalog expressions are read again). */
export const RuleSchema = z.object({
  id: z.string(),
  table: z.string(),
  kind: RuleKindSchema,
  /** The constraint's name, the proposal (`total >= 0`), or the user rule's name. */
  name: z.string(),
  columns: z.array(z.string()),
  description: z.string(),
  /** False when the database does not enforce it on existing rows (a NOT VALID constraint, any other rule). */
  enforced: z.boolean(),
  values: z.array(z.string()).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  minExclusive: z.boolean().optional(),
  maxExclusive: z.boolean().optional(),
  /** A user SQL expression, or a check constraint's expression as the catalog printed it (informative). */
  expression: z.string().optional(),
  refSchema: z.string().optional(),
  refTable: z.string().optional(),
  refColumns: z.array(z.string()).optional(),
  /** A user rule from the input. */
  jsonSchema: z.record(z.string(), z.unknown()).optional(),
  /**
   * `schema`: the catalog; `input`/`agents`: the user; `profile`: proposed from the data; `proposer`: proposed by
   * the `validation-propose` agent (an LLM) and accepted by the judge.
   */
  source: z.enum(['schema', 'input', 'agents', 'profile', 'proposer']),
});
/** A validation rule. */
export type Rule = z.infer<typeof RuleSchema>;

/** A column as the profiler needs it. */
const TaskColumnSchema = z.object({
  name: z.string(),
  type: z.string(),
  /** How it is profiled: range and spread (number), range and freshness (instant), distinct values, or nulls only. */
  class: z.enum(['number', 'instant', 'discrete', 'other']),
  /** Part of a key (primary, foreign, or a guessed reference): not profiled for outliers. */
  key: z.boolean(),
  /** `pg_stats` estimate of distinct values (negative: a share of the rows), null when never analyzed. */
  statsDistinct: z.number().nullable(),
});

/** One `map` item: a table (or view) and its rules, checked in one pass. */
export const TaskSchema = z.object({
  schema: z.string(),
  table: z.string(),
  kind: z.enum(['table', 'view']),
  /**
   * Its own rows only (`FROM ONLY`): an inheritance parent whose children are checked in the same run (their rows
   * would be counted, and their violations found, twice). @default false
   */
  only: z.boolean().optional(),
  /** Primary key columns, to name example rows. Empty for a table without one, or a view. */
  key: z.array(z.string()),
  columns: z.array(TaskColumnSchema),
  rules: z.array(RuleSchema),
  examples: z.number().int().min(0),
  /** Count distinct values exactly (small tables); else use the planner's estimate. */
  exactDistinct: z.boolean(),
});
/** A table to check. */
export type Task = z.infer<typeof TaskSchema>;

/** A row that breaks a rule. */
export const ExampleSchema = z.object({
  /** Its primary key, or the whole (trimmed) row when there is none. */
  key: z.record(z.string(), z.unknown()),
  /** The values of the rule's columns (or of the whole row, for a user rule). */
  values: z.record(z.string(), z.unknown()),
  message: z.string(),
});

/** What the profile says about one column. Numbers are numbers; instants and dates are ISO text. */
export const ColumnProfileSchema = z.object({
  column: z.string(),
  type: z.string(),
  nulls: z.number().int(),
  nonNull: z.number().int(),
  nullRate: z.number(),
  /** Distinct non-null values: exact, or the planner's estimate (`distinctEstimated`), or null if unknown. */
  distinct: z.number().nullable(),
  distinctEstimated: z.boolean(),
  min: z.union([z.number(), z.string()]).nullable(),
  max: z.union([z.number(), z.string()]).nullable(),
  mean: z.number().nullable(),
  stddev: z.number().nullable(),
  /** Amount-like numeric columns only. */
  negatives: z.number().int().nullable(),
  /** Values more than 6 standard deviations from the mean (numeric, non-key columns). */
  outliers: z.number().int().nullable(),
  /** Timestamp and date columns: days since the newest value (negative: in the future). */
  newestAgeDays: z.number().nullable(),
});
/** A column's profile. */
export type ColumnProfile = z.infer<typeof ColumnProfileSchema>;

/** Something the profile noticed that is not a broken rule: a column always NULL, outliers, stale data. */
export const NoteSchema = z.object({
  table: z.string(),
  column: z.string(),
  kind: z.enum([
    'all-null',
    'mostly-null',
    'constant',
    'outliers',
    'stale',
    'proposal-dropped',
    'unchecked',
    /** Row-level security hides rows of the table from this role: only those it may see were checked. */
    'row-security',
  ]),
  message: z.string(),
});

/** What checking one table found. */
export const TableResultSchema = z.object({
  table: z.string(),
  rows: z.number().int(),
  /** Rows that break at least one rule (rows, not violations). */
  violatingRows: z.number().int(),
  violations: z.array(
    z.object({ rule: z.string(), count: z.number().int(), examples: z.array(ExampleSchema) }),
  ),
  /** Proposed rules the data did not support (negative amounts are common here): not counted. */
  dropped: z.array(z.string()),
  profile: z.array(ColumnProfileSchema),
  notes: z.array(NoteSchema),
  durationMs: z.number(),
  /** Why the table could not be checked (no privilege, a timeout): it counts no rows. */
  error: z.string().optional(),
});
/** A table's result. */
export type TableResult = z.infer<typeof TableResultSchema>;

/** The plan: the rules, one task per table, and the threshold. */
export const PlanSchema = z.object({
  schema: z.string(),
  rules: z.array(RuleSchema),
  tasks: z.array(TaskSchema),
  threshold: z.number(),
  examples: z.number().int(),
  /** Catalog constraints PostgreSQL enforces (validated NOT NULL, CHECK, FK, UNIQUE, enum types): not re-checked. */
  enforcedSkipped: z.number().int(),
});

/** One rule's result in the report. */
const ViolationSchema = z.object({
  rule: z.string(),
  table: z.string(),
  kind: RuleKindSchema,
  name: z.string(),
  description: z.string(),
  enforced: z.boolean(),
  source: RuleSchema.shape.source,
  count: z.number().int(),
  examples: z.array(ExampleSchema),
});

/** The summary the threshold branch tests. */
export const SummarySchema = z.object({
  rowsChecked: z.number().int(),
  violatingRows: z.number().int(),
  /** violatingRows / rowsChecked. */
  ratio: z.number(),
  threshold: z.number(),
  overThreshold: z.boolean(),
  tables: z.array(
    z.object({
      table: z.string(),
      rows: z.number().int(),
      violatingRows: z.number().int(),
      ratio: z.number(),
      durationMs: z.number(),
    }),
  ),
  violations: z.array(ViolationSchema),
  notes: z.array(NoteSchema),
});

/** The report: the workflow's output. */
export const ValidationReportSchema = SummarySchema.extend({
  schema: z.string(),
  rulesChecked: z.number().int(),
  /** Passes over the data: one per table. */
  batches: z.number().int(),
  enforcedSkipped: z.number().int(),
  /** Every column's profile, by table. */
  profiles: z.array(z.object({ table: z.string(), columns: z.array(ColumnProfileSchema) })),
  /**
   * The rules the `validation-propose` agent (an LLM) proposed, when it proposed any: those the judge accepted (as
   * the SQL it rebuilt and ran) and those it refused, with why (never run).
   */
  proposals: z
    .object({
      accepted: z.array(
        z.object({ rule: z.string(), table: z.string(), name: z.string(), expression: z.string() }),
      ),
      refused: z.array(
        z.object({ table: z.string(), name: z.string(), expression: z.string(), reason: z.string() }),
      ),
      notes: z.array(z.string()),
    })
    .optional(),
  /** Set when the ratio passed the threshold and a human let the run go on. */
  review: z.object({ escalated: z.literal(true), decision: z.unknown() }).optional(),
});
/** The data validation report. */
export type ValidationReport = z.infer<typeof ValidationReportSchema>;
