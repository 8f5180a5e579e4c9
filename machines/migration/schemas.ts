/**
 * The data the migration's steps pass each other, as zod schemas: each agent parses what it receives and what it
 * returns with these.
 */
import { z } from 'zod';
import { LintFindingSchema, LintSchema } from './lint.js';
import { PlannedStatementSchema } from './parse.js';
import { RenameSchema, UndoDataSchema } from './revert.js';
import { SnapshotSchema } from './snapshot.js';

/** The workflow input. */
export const MigrationInputSchema = z.object({
  /**
   * The target DDL: one or more statements, run in order in one transaction. Without it, the migration is the
   * lock-safe fixes the schema analysis finds on this database (unindexed foreign keys, duplicate indexes), dry-run
   * and held for approval; or nothing to migrate.
   */
  sql: z.string().trim().min(1).max(1_000_000).optional(),
  /** The schema the migration changes, verifies and can revert. @default `public` when it has tables, else the largest user schema */
  schema: z.string().min(1).max(63).optional(),
  /** Approves destructive statements up front (for unattended runs): who approves. */
  approvedBy: z.string().min(1).max(200).optional(),
  /** Keep the backups of changed tables after a successful migration. @default false */
  keepBackups: z.boolean().default(false),
});
/** The workflow input, as given (defaults optional). */
export type MigrationInput = z.input<typeof MigrationInputSchema>;

/** A row count of one table. */
const TableRowsSchema = z.object({ table: z.string(), rows: z.number().int() });

/** The `plan` step's output. */
export const PlanSchema = z.object({
  schema: z.string(),
  approvedBy: z.string().nullable(),
  keepBackups: z.boolean(),
  statements: z.array(PlannedStatementSchema),
  before: SnapshotSchema,
  /** Exact row counts of the existing tables the statements name. */
  rows: z.array(TableRowsSchema),
  /** Tables copied before the change, because it can lose their rows or values. */
  backupTables: z.array(z.string()),
  /** Tables whose rows the statements change on purpose (their counts may change). */
  dataChanged: z.array(z.string()),
  renames: z.array(RenameSchema),
  /**
   * Tables of other schemas (qualified) whose rows a foreign key action reaches from a table the statements write
   * (`through`): the migration does not back them up nor revert them, so they are held for approval.
   */
  cascadesElsewhere: z
    .array(z.object({ table: z.string(), through: z.string(), onDelete: z.string(), onUpdate: z.string() }))
    .default([]),
  /** Written by Flowstate from the schema analysis (no SQL given): always held for a human's approval. */
  proposed: z.boolean().default(false),
  /** The schema analysis findings the proposed statements fix. */
  fixes: z.array(z.object({ id: z.string(), message: z.string() })).default([]),
});
/** The `plan` step's output. */
export type Plan = z.infer<typeof PlanSchema>;

/** A human's (or the input's) approval of a destructive migration; a human sends it as the escalation's value. */
export const ApprovalSchema = z.object({
  approved: z.boolean(),
  by: z.string().min(1),
  source: z.enum(['input', 'human']).default('human'),
  note: z.string().optional(),
});

/** How one statement ran. */
const StatementRunSchema = z.object({
  index: z.number().int(),
  ms: z.number(),
  rowCount: z.number().int(),
});

/** The `dryRun` step's output. */
export const DryRunSchema = z.object({
  durationMs: z.number(),
  statements: z.array(StatementRunSchema),
  /** The schema as the migration leaves it: what `verify` expects after applying. */
  expected: SnapshotSchema,
  rows: z.array(TableRowsSchema),
  /** Whether the revert brought the schema back, tried in the same rolled-back transaction. */
  reversible: z.boolean(),
  revertProblem: z.string().nullable(),
});
/** The `dryRun` step's output. */
export type DryRun = z.infer<typeof DryRunSchema>;

/** The `apply` step's output: what ran, and what a revert needs. */
export const ApplySchema = z.object({
  appliedAt: z.string(),
  durationMs: z.number(),
  statements: z.array(StatementRunSchema),
  undo: UndoDataSchema,
});
/** The `apply` step's output. */
export type Applied = z.infer<typeof ApplySchema>;

/** One table's row count before and after, and what the dry run predicted. */
const RowCountSchema = z.object({
  table: z.string(),
  before: z.number().int().nullable(),
  after: z.number().int().nullable(),
  expected: z.number().int().nullable(),
});

/** The `verify` step's output. */
export const VerificationSchema = z.object({
  schemaMatches: z.boolean(),
  rowCounts: z.array(RowCountSchema),
});
/** The `verify` step's output. */
export type Verification = z.infer<typeof VerificationSchema>;

/** What the compensation returns (and logs) after a revert. */
export const RevertReportSchema = z.object({
  reverted: z.boolean(),
  statements: z.array(z.string()),
  restoredRows: z.record(z.string(), z.number()),
});

/** What the `rewrite` step returns: a lock-safe form of the migration (or null) and the risks in plain words. */
export const RewriteSchema = z.object({
  sql: z
    .string()
    .max(100_000)
    .nullable()
    .describe('the whole migration rewritten in its lock-safe form, or null to keep it as given'),
  explanation: z
    .string()
    .max(4_000)
    .describe('the risks of the migration in plain words, for the person who approves it'),
});
/** The rewrite step's answer. */
export type Rewrite = z.infer<typeof RewriteSchema>;

/** The judge's verdict on a proposed rewrite. */
const RewriteVerdictSchema = z.object({
  status: z.enum(['taken', 'refused']),
  sql: z.string(),
  /** Why it was refused, or what made it safer. */
  reason: z.string(),
});

/** What the `judge` step returns: the plan and lint the later steps use (the rewrite's, when taken). */
export const JudgedMigrationSchema = z.object({
  plan: PlanSchema,
  lint: LintSchema,
  /** Dry-run on a scratch copy before the approval (Flowstate's proposal, or a rewrite taken). */
  preview: z.boolean(),
  rewrite: RewriteVerdictSchema.nullable(),
  /** The risk explanation, as the rewrite agent wrote it (shown with the approval request and in the report). */
  explanation: z.string(),
});
/** The judge's output. */
export type JudgedMigration = z.infer<typeof JudgedMigrationSchema>;

/** The results the later steps read. */
export const ResultsSchema = z.object({
  plan: PlanSchema,
  lint: LintSchema,
  rewrite: RewriteSchema.optional(),
  /** The plan and lint the later steps use: the rewrite's when the judge took it (read through `effective`). */
  judge: JudgedMigrationSchema.optional(),
  /** The dry run of a proposed migration, before its approval. */
  preview: DryRunSchema.optional(),
  approval: ApprovalSchema.optional(),
  dryRun: DryRunSchema.optional(),
  apply: ApplySchema.optional(),
  verify: VerificationSchema.optional(),
});
/** The results the later steps read. */
export type Results = z.infer<typeof ResultsSchema>;

/** The migration report: the workflow's output. */
export const MigrationReportSchema = z.object({
  /** `nothing-to-migrate`: no SQL given and the schema analysis found nothing with a lock-safe fix. */
  status: z.enum(['applied', 'nothing-to-migrate']),
  schema: z.string(),
  /** `input`: the given SQL; `schema-analysis`: fixes Flowstate proposed from this database's schema analysis. */
  source: z.enum(['input', 'schema-analysis']).default('input'),
  /** What the run found to do, in one sentence. */
  summary: z.string().default(''),
  statements: z.array(
    z.object({
      index: z.number().int(),
      sql: z.string(),
      kind: z.string(),
      lock: z.string().nullable(),
      dryRunMs: z.number().nullable(),
      applyMs: z.number().nullable(),
    }),
  ),
  findings: z.array(LintFindingSchema),
  destructive: z.boolean(),
  rewrites: z.number().int(),
  approval: z.object({ by: z.string(), source: z.enum(['input', 'human']) }).nullable(),
  dryRun: z.object({ durationMs: z.number(), reversible: z.boolean(), revertProblem: z.string().nullable() }),
  apply: z.object({ appliedAt: z.string(), durationMs: z.number() }),
  /** What changed in the schema, object by object. */
  changes: z.array(
    z.object({ object: z.string(), before: z.string().nullable(), after: z.string().nullable() }),
  ),
  rowCounts: z.array(RowCountSchema),
  backups: z.object({ kept: z.boolean(), tables: z.array(z.string()) }),
  /** The risks in plain words, as the `migration-rewrite` agent wrote them (templated by default, or an LLM). */
  explanation: z.string().optional(),
  /** A lock-safe rewrite the `migration-rewrite` agent proposed: taken (and approved) or refused, with why. */
  proposedRewrite: z
    .object({ status: z.enum(['taken', 'refused']), sql: z.string(), reason: z.string() })
    .optional(),
});
/** The migration report. */
export type MigrationReport = z.infer<typeof MigrationReportSchema>;
