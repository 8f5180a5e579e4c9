/**
 * The default agents of the schema analysis: they read the catalog and the data of a real database. Each one
 * validates its input and output with zod; table and column names reach SQL only through the catalog helpers.
 */
import { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { AgentRegistry } from '../../src/index.js';
import { defineAgent } from '../lib/agent.js';
import { type Catalog, CatalogSchema, defaultSchema, introspect } from '../lib/catalog.js';
import { rolledBack } from '../lib/tx.js';
import * as checks from './checks.js';
import {
  type ExplanationDraft,
  ExplanationDraftSchema,
  ExplanationSchema,
  judgeExplanation,
  templatedExplanation,
} from './explain.js';
import { type Finding, FindingSchema, FindingsSchema, score, sortFindings } from './findings.js';
import { SCRATCH } from './fixes.js';
import { nullableForeignKeys } from './null-keys.js';
import { columnTypes } from './types.js';

/** The workflow input: which schema to analyse. */
export const SchemaAnalysisInputSchema = z.object({
  /** @default `public` when it has tables, else the user schema with the most tables */
  schema: z.string().min(1).max(63).optional(),
});

/** What the triage step returns: every finding, sorted, and the flags the severity branch tests. */
const TriageSchema = z.object({
  schema: z.string(),
  findings: z.array(FindingSchema),
  counts: z.object({ critical: z.number(), warning: z.number(), info: z.number() }),
  hasCritical: z.boolean(),
});

/** A fix proposed for a finding; on the critical path it is tried in a transaction that rolls back. */
export const ActionSchema = z.object({
  finding: z.string(),
  severity: FindingSchema.shape.severity,
  sql: z.string(),
  /** `ok`/`failed`: tried and rolled back; `not-tried`: listed only (no critical finding). */
  dryRun: z.enum(['ok', 'failed', 'not-tried']),
  error: z.string().optional(),
});

/** The output of the `remediation` and `advice` steps. */
const ActionsSchema = z.object({ actions: z.array(ActionSchema) });

/** The report: the workflow's output. */
export const SchemaReportSchema = z.object({
  schema: z.string(),
  score: z.number().min(0).max(100),
  grade: z.enum(['A', 'B', 'C', 'D', 'F']),
  overview: z.object({
    tables: z.number(),
    views: z.number(),
    indexes: z.number(),
    foreignKeys: z.number(),
    estimatedRows: z.number(),
    totalBytes: z.number(),
    /** Partitioned tables, each counted once in `tables` (their partitions are not). */
    partitioned: z.number(),
    /** Enum types the schema's columns use. */
    enums: z.number(),
  }),
  counts: TriageSchema.shape.counts,
  /** Which arm of the severity branch ran. */
  path: z.enum(['remediation', 'advice']),
  findings: z.array(FindingSchema),
  actions: z.array(ActionSchema),
  /**
   * The findings in plain language, most urgent first: written by the `schema-explain` agent (templated by
   * default, or an LLM), then judged: only findings and objects the analysis has are cited.
   */
  explanation: ExplanationSchema.optional(),
});
/** The schema analysis report. */
export type SchemaReport = z.infer<typeof SchemaReportSchema>;

/** Each analysis region's result, by step name, as the triage and report steps read them from `results`. */
const REGION_STEPS = [
  'foreignKeyIndexes',
  'indexHealth',
  'primaryKeys',
  'nullableForeignKeys',
  'naming',
  'columnTypes',
] as const;

const ResultsSchema = z.object({
  introspect: CatalogSchema,
  triage: TriageSchema.optional(),
  remediation: ActionsSchema.optional(),
  advice: ActionsSchema.optional(),
  explain: ExplanationDraftSchema.optional(),
  foreignKeyIndexes: FindingsSchema.optional(),
  indexHealth: FindingsSchema.optional(),
  primaryKeys: FindingsSchema.optional(),
  nullableForeignKeys: FindingsSchema.optional(),
  naming: FindingsSchema.optional(),
  columnTypes: FindingsSchema.optional(),
});

/** A pure catalog check as an agent. */
const catalogCheck = (name: string, check: (catalog: Catalog) => Finding[]) =>
  defineAgent({
    name,
    input: CatalogSchema,
    output: FindingsSchema,
    run: (catalog) => ({ findings: check(catalog) }),
  });

/** How long a fix may hold locks or run while it is tried: a dry run must never stall a live database. */
const DRY_RUN = { statementTimeoutMs: 10_000, lockTimeoutMs: 2_000 } as const;

/**
 * The default agents of the schema analysis, working on `db`. Register them with `createEngine({ agents })`.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents: schemaAnalysisAgents(db) });
 * const report = await engine.start(schemaAnalysis, { schema: 'public' }).result;
 * ```
 */
export function schemaAnalysisAgents(db: Database): AgentRegistry {
  return {
    'schema-introspect': defineAgent({
      name: 'schema-introspect',
      input: SchemaAnalysisInputSchema,
      output: CatalogSchema,
      run: async ({ schema }) => introspect(db, schema ?? (await defaultSchema(db))),
    }),
    'schema-fk-indexes': catalogCheck('schema-fk-indexes', checks.missingForeignKeyIndexes),
    'schema-index-health': catalogCheck('schema-index-health', checks.indexHealth),
    'schema-primary-keys': catalogCheck('schema-primary-keys', checks.missingPrimaryKeys),
    'schema-naming': catalogCheck('schema-naming', checks.naming),
    'schema-column-types': catalogCheck('schema-column-types', columnTypes),
    'schema-nullable-fks': defineAgent({
      name: 'schema-nullable-fks',
      input: CatalogSchema,
      output: FindingsSchema,
      run: (catalog) => nullableForeignKeys(db, catalog),
    }),
    'schema-triage': defineAgent({
      name: 'schema-triage',
      input: ResultsSchema,
      output: TriageSchema,
      run: (results) => {
        const findings = sortFindings(REGION_STEPS.flatMap((step) => results[step]?.findings ?? []));
        const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
        const counts = { critical: count('critical'), warning: count('warning'), info: count('info') };
        return { schema: results.introspect.schema, findings, counts, hasCritical: counts.critical > 0 };
      },
    }),
    'schema-remediation': defineAgent({
      name: 'schema-remediation',
      input: TriageSchema,
      output: ActionsSchema,
      run: async ({ schema, findings }) => {
        const actions: z.infer<typeof ActionSchema>[] = [];
        // One at a time, each in its own rolled-back transaction: a fix that fails must not hide the others. The
        // trial runs on a scratch copy (or checks the index to drop exists): the live table is never locked by it.
        for (const f of findings) {
          if (f.fix === undefined) continue;
          const sql = f.fix;
          try {
            await rolledBack(db, (tx) => trial(tx, schema, f), DRY_RUN);
            actions.push({ finding: f.id, severity: f.severity, sql, dryRun: 'ok' });
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            actions.push({ finding: f.id, severity: f.severity, sql, dryRun: 'failed', error: message });
          }
        }
        return { actions };
      },
    }),
    'schema-advice': defineAgent({
      name: 'schema-advice',
      input: TriageSchema,
      output: ActionsSchema,
      run: ({ findings }) => ({
        actions: findings.flatMap((f) =>
          f.fix === undefined
            ? []
            : [{ finding: f.id, severity: f.severity, sql: f.fix, dryRun: 'not-tried' as const }],
        ),
      }),
    }),
    'schema-explain': defineAgent({
      name: 'schema-explain',
      input: ResultsSchema.required({ triage: true }),
      output: ExplanationDraftSchema,
      run: ({ triage }): ExplanationDraft => templatedExplanation(triage.schema, triage.findings),
    }),
    'schema-report': defineAgent({
      name: 'schema-report',
      input: ResultsSchema.required({ triage: true }),
      output: SchemaReportSchema,
      run: (results) =>
        report(results.introspect, results.triage, results.remediation ?? results.advice, results),
    }),
  };
}

/**
 * Tries a fix without touching the live table: its DDL on a scratch copy of the table (a temporary table, `LIKE
 * ... INCLUDING ALL`), or, for a drop, a check that the index is still there. The caller rolls back.
 */
async function trial(tx: Database, schema: string, finding: Finding): Promise<void> {
  const t = finding.trial;
  if (t?.exists !== undefined) {
    const { rowCount } = await tx.query(
      `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('i', 'I')`,
      [schema, t.exists],
    );
    if (rowCount === 0) throw new Error(`Index ${t.exists} does not exist`);
    return;
  }
  if (t?.copy === undefined) throw new Error('No trial for this fix: it is not run on the live table');
  await tx.query(
    `CREATE TEMP TABLE ${quoteIdent(SCRATCH)} (LIKE ${qualifiedName(schema, t.copy)} INCLUDING ALL)`,
  );
  for (const statement of t.statements ?? []) await tx.query(statement);
}

function report(
  catalog: Catalog,
  triage: z.infer<typeof TriageSchema>,
  actions: z.infer<typeof ActionsSchema> | undefined,
  results: { remediation?: unknown; explain?: ExplanationDraft | undefined },
): SchemaReport {
  const tables = checks.tablesOf(catalog);
  return {
    schema: catalog.schema,
    ...score(triage.findings),
    overview: {
      tables: tables.length,
      views: catalog.tables.filter((t) => t.kind === 'view').length,
      indexes: tables.reduce((n, t) => n + t.indexes.length, 0),
      foreignKeys: tables.reduce((n, t) => n + t.constraints.filter((c) => c.kind === 'f').length, 0),
      estimatedRows: tables.reduce((n, t) => n + t.estimatedRows, 0),
      totalBytes: tables.reduce((n, t) => n + t.sizeBytes, 0),
      partitioned: tables.filter((t) => t.partitioned).length,
      enums: new Set(catalog.tables.flatMap((t) => t.columns.filter((c) => c.enumValues).map((c) => c.type)))
        .size,
    },
    counts: triage.counts,
    path: results.remediation === undefined ? 'advice' : 'remediation',
    findings: triage.findings,
    actions: actions?.actions ?? [],
    // The explanation is only ever words about the findings above: the judge drops what cites anything else.
    ...(results.explain === undefined
      ? {}
      : { explanation: judgeExplanation(results.explain, catalog, triage.findings) }),
  };
}
