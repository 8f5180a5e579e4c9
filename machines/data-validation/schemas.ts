/**
 * The data validation's data, as zod schemas: the input, the rules (derived from the schema or given by the
 * user), the batches the `map` step checks, and the report. Everything is JSON, so a run can be checkpointed.
 */
import { z } from 'zod';

/** A user rule in the workflow input: a JSON Schema every row of `table` must match (turned into zod). */
const InputRuleSchema = z.object({
  table: z.string().min(1),
  name: z.string().min(1).max(200),
  /** A JSON Schema for one row, as `{ type: 'object', properties: { difference: { const: 0 } } }`. */
  schema: z.record(z.string(), z.unknown()),
});

/** The workflow input. */
export const DataValidationInputSchema = z.object({
  /** @default 'public' */
  schema: z.string().min(1).max(63).default('public'),
  /** Tables (or views) to check. @default every table of the schema, plus the tables rules name */
  tables: z.array(z.string().min(1)).min(1).optional(),
  /** User rules as JSON Schemas. Rules given as zod schemas go to the agents factory instead. */
  rules: z.array(InputRuleSchema).default([]),
  /** Rows per batch. @default 1000 */
  batchSize: z.number().int().min(10).max(100_000).default(1000),
  /** Escalate to a human when more than this share of the rows checked breaks a rule. @default 0.05 */
  threshold: z.number().min(0).max(1).default(0.05),
  /** Example rows kept per rule. @default 5 */
  examples: z.number().int().min(0).max(100).default(5),
});
/** The data validation input as given (defaults not applied yet). */
export type DataValidationInput = z.input<typeof DataValidationInputSchema>;

/** Where a rule comes from. */
const RuleKindSchema = z.enum(['not-null', 'enum', 'range', 'check', 'foreign-key', 'user-rule']);

/** A rule, as data: the batch agent rebuilds the check from it. */
export const RuleSchema = z.object({
  id: z.string(),
  table: z.string(),
  kind: RuleKindSchema,
  /** The constraint's name, `<column> NOT NULL`, or the user rule's name. */
  name: z.string(),
  columns: z.array(z.string()),
  description: z.string(),
  /** False when the database does not enforce it on existing rows (a NOT VALID constraint, a user rule). */
  enforced: z.boolean(),
  values: z.array(z.string()).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  minExclusive: z.boolean().optional(),
  maxExclusive: z.boolean().optional(),
  /** A check constraint's expression, as the catalog prints it. */
  expression: z.string().optional(),
  refSchema: z.string().optional(),
  refTable: z.string().optional(),
  refColumns: z.array(z.string()).optional(),
  /** A user rule from the input. */
  jsonSchema: z.record(z.string(), z.unknown()).optional(),
  /** `agents`: a zod rule given to the agents factory, found by table and name. */
  source: z.enum(['schema', 'input', 'agents']),
});
/** A validation rule. */
export type Rule = z.infer<typeof RuleSchema>;

/** One `map` item: a slice of a table and every rule of that table. */
export const BatchSchema = z.object({
  schema: z.string(),
  table: z.string(),
  offset: z.number().int().min(0),
  limit: z.number().int().min(1),
  /** Key columns (primary key), to name example rows. Empty for a table without one, or a view. */
  key: z.array(z.string()),
  rules: z.array(RuleSchema),
  examples: z.number().int().min(0),
});
/** A batch to check. */
export type Batch = z.infer<typeof BatchSchema>;

/** A row that breaks a rule. */
export const ExampleSchema = z.object({
  /** The row's position in the table's check order (from 0). */
  position: z.number().int(),
  /** Its primary key, or the whole (trimmed) row when there is none. */
  key: z.record(z.string(), z.unknown()),
  /** The values of the rule's columns (or of the whole row, for a user rule). */
  values: z.record(z.string(), z.unknown()),
  message: z.string(),
});

/** What checking one batch found. */
export const BatchResultSchema = z.object({
  table: z.string(),
  offset: z.number().int(),
  rows: z.number().int(),
  /** Positions of rows that break at least one rule (to count rows, not violations). */
  violatingRows: z.array(z.number().int()),
  violations: z.array(
    z.object({ rule: z.string(), count: z.number().int(), examples: z.array(ExampleSchema) }),
  ),
});

/** The plan: the rules, the batches and the threshold. */
export const PlanSchema = z.object({
  schema: z.string(),
  tables: z.array(z.object({ table: z.string(), rows: z.number().int() })),
  rules: z.array(RuleSchema),
  batches: z.array(BatchSchema),
  threshold: z.number(),
  examples: z.number().int(),
});

/** One rule's result in the report. */
const ViolationSchema = z.object({
  rule: z.string(),
  table: z.string(),
  kind: RuleKindSchema,
  name: z.string(),
  description: z.string(),
  enforced: z.boolean(),
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
    }),
  ),
  violations: z.array(ViolationSchema),
});

/** The report: the workflow's output. */
export const ValidationReportSchema = SummarySchema.extend({
  schema: z.string(),
  rulesChecked: z.number().int(),
  batches: z.number().int(),
  /** Set when the ratio passed the threshold and a human let the run go on. */
  review: z.object({ escalated: z.literal(true), decision: z.unknown() }).optional(),
});
/** The data validation report. */
export type ValidationReport = z.infer<typeof ValidationReportSchema>;
