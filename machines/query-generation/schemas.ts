/**
 * The data the query generation's steps pass each other, and its report, as zod schemas.
 */
import { z } from 'zod';
import { CandidateSchema, ParamSchema } from './generator.js';
import { SchemaContextSchema } from './schema-context.js';

/** The workflow input. */
export const QueryGenerationInputSchema = z.object({
  /**
   * What to ask the database, in plain language.
   * @default a question the schema can answer: the top 5 rows of the most referenced table by their children
   */
  request: z.string().trim().min(1).max(2_000).optional(),
  /** @default `public` when it has tables, else the user schema with the most tables */
  schema: z.string().min(1).max(63).optional(),
});
/** The workflow input, as given. */
export type QueryGenerationInput = z.input<typeof QueryGenerationInputSchema>;

/** A refused candidate, as fed back to the generator. */
const AttemptSchema = z.object({
  attempt: z.number().int(),
  sql: z.string(),
  problems: z.array(z.string()),
});

/** A plan, summed up. */
const PlanSummarySchema = z.object({ totalCost: z.number(), shape: z.string() });

/** The `check` step's output. */
export const CheckSchema = z.object({
  ok: z.boolean(),
  attempt: z.number().int(),
  candidate: CandidateSchema,
  problems: z.array(z.string()),
  columns: z.array(z.string()),
  sample: z.array(z.record(z.string(), z.unknown())),
  plan: PlanSummarySchema.nullable(),
  /** Every refused candidate so far, this one included when refused. */
  history: z.array(AttemptSchema),
});
/** The `check` step's output. */
export type Check = z.infer<typeof CheckSchema>;

/** The query a human gives when resolving the `review` escalation with `skip`. */
export const HumanQuerySchema = z.object({
  sql: z.string().min(1),
  params: z.array(ParamSchema).default([]),
  explanation: z.string().default('Written by a human reviewer'),
});

/** The results the steps read. */
export const ResultsSchema = z.object({
  context: SchemaContextSchema,
  generate: CandidateSchema.optional(),
  check: CheckSchema.optional(),
  accept: z.unknown().optional(),
  /** What the human gave: a query, or nothing (null) to leave the request unanswered. */
  review: HumanQuerySchema.nullable().optional(),
});

/** The query generation report: the workflow's output. */
export const QueryReportSchema = z.object({
  request: z.string(),
  status: z.enum(['answered', 'unanswered']),
  /** Who wrote the query that answered. */
  source: z.enum(['generator', 'human']).nullable(),
  sql: z.string().nullable(),
  params: z.array(ParamSchema),
  explanation: z.string(),
  /** Candidates tried by the generator. */
  attempts: z.number().int(),
  history: z.array(AttemptSchema),
  columns: z.array(z.string()),
  /** The first rows (read-only, with a LIMIT). */
  sample: z.array(z.record(z.string(), z.unknown())),
  plan: PlanSummarySchema.nullable(),
  /** Why the final query was refused, for an unanswered request. */
  problems: z.array(z.string()),
});
/** The query generation report. */
export type QueryReport = z.infer<typeof QueryReportSchema>;
