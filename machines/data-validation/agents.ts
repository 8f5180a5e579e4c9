/**
 * The default agents of the data validation: plan (catalog, rules, batches), check a batch, summarize, the
 * threshold gate that escalates, and the report. Inputs and outputs are validated with zod.
 */
import { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import type { AgentRegistry } from '../../src/index.js';
import { defineAgent } from '../lib/agent.js';
import { findTable, introspect, tableRef } from '../lib/catalog.js';
import { type CheckerState, checkBatch } from './check.js';
import { deriveRules, inputRule, type ZodRule, zodRule } from './rules.js';
import {
  type Batch,
  BatchResultSchema,
  BatchSchema,
  DataValidationInputSchema,
  PlanSchema,
  type Rule,
  SummarySchema,
  ValidationReportSchema,
} from './schemas.js';

/** Options of {@link dataValidationAgents}. */
export interface DataValidationAgentOptions {
  /** User rules as zod schemas, applied to every row of their table whenever it is checked. */
  readonly rules?: readonly ZodRule[];
}

/** The violation ratio passed the threshold: this fails the gate step, which escalates to a human. */
class ViolationThresholdError extends Error {
  /** The same data would fail again: ask a human at once. */
  readonly retryable = false;
  readonly code = 'VIOLATION_THRESHOLD';
  constructor(ratio: number, threshold: number) {
    super(`${percent(ratio)} of the rows checked break a rule, more than the ${percent(threshold)} allowed`);
    this.name = 'ViolationThresholdError';
  }
}

const ResultsSchema = z.object({
  plan: PlanSchema,
  check: z.array(BatchResultSchema),
  summarize: SummarySchema.optional(),
  review: z.unknown().optional(),
});

/**
 * The default agents of the data validation, working on `db`. Register them with `createEngine({ agents })`.
 *
 * @example
 * ```ts
 * const agents = dataValidationAgents(db, {
 *   rules: [{ table: 'customers', name: 'email domain', schema: z.object({ email: z.string().endsWith('.com') }) }],
 * });
 * ```
 */
export function dataValidationAgents(db: Database, options: DataValidationAgentOptions = {}): AgentRegistry {
  const zodRules = new Map((options.rules ?? []).map((r) => [JSON.stringify([r.table, r.name]), r]));
  const state: CheckerState = { zodRules, compiled: new Map(), expressions: new Map() };
  return {
    'validation-plan': defineAgent({
      name: 'validation-plan',
      input: DataValidationInputSchema,
      output: PlanSchema,
      run: (input) => plan(db, input, options.rules ?? []),
    }),
    'validation-check-batch': defineAgent({
      name: 'validation-check-batch',
      input: BatchSchema,
      output: BatchResultSchema,
      run: (batch) => checkBatch(db, batch, state),
    }),
    'validation-summarize': defineAgent({
      name: 'validation-summarize',
      input: ResultsSchema,
      output: SummarySchema,
      run: ({ plan, check }) => summarize(plan, check),
    }),
    'validation-gate': defineAgent({
      name: 'validation-gate',
      input: SummarySchema,
      output: z.never(),
      run: ({ ratio, threshold }) => {
        throw new ViolationThresholdError(ratio, threshold);
      },
    }),
    'validation-accept': defineAgent({
      name: 'validation-accept',
      input: SummarySchema,
      output: z.object({ accepted: z.literal(true), reason: z.string() }),
      run: ({ ratio, threshold }) => ({
        accepted: true as const,
        reason: `${percent(ratio)} of the rows checked break a rule, within the ${percent(threshold)} allowed`,
      }),
    }),
    'validation-report': defineAgent({
      name: 'validation-report',
      input: ResultsSchema.required({ summarize: true }),
      output: ValidationReportSchema,
      run: (results) => ({
        schema: results.plan.schema,
        ...results.summarize,
        rulesChecked: results.plan.rules.length,
        batches: results.plan.batches.length,
        ...(results.review === undefined
          ? {}
          : { review: { escalated: true as const, decision: results.review } }),
      }),
    }),
  };
}

async function plan(
  db: Database,
  input: z.infer<typeof DataValidationInputSchema>,
  zodRules: readonly ZodRule[],
): Promise<z.infer<typeof PlanSchema>> {
  const catalog = await introspect(db, input.schema);
  const names = new Set(input.tables ?? catalog.tables.filter((t) => t.kind === 'table').map((t) => t.name));
  for (const rule of input.rules) names.add(rule.table);
  const tables = [...names].map((name) => findTable(catalog, name));
  const rules: Rule[] = [
    ...tables.flatMap(deriveRules),
    ...input.rules.map(inputRule),
    ...zodRules.filter((r) => names.has(r.table)).map(zodRule),
  ];
  const counted: { table: string; rows: number }[] = [];
  const batches: Batch[] = [];
  for (const table of tables) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM ${tableRef(catalog, table.name)}`,
    );
    const total = Number(rows[0]?.n ?? 0);
    counted.push({ table: table.name, rows: total });
    const key = table.constraints.find((c) => c.kind === 'p')?.columns ?? [];
    const own = rules.filter((r) => r.table === table.name);
    for (let offset = 0; offset < total; offset += input.batchSize) {
      batches.push({
        schema: catalog.schema,
        table: table.name,
        offset,
        limit: input.batchSize,
        key,
        rules: own,
        examples: input.examples,
      });
    }
  }
  return {
    schema: catalog.schema,
    tables: counted,
    rules,
    batches,
    threshold: input.threshold,
    examples: input.examples,
  };
}

function summarize(
  plan: z.infer<typeof PlanSchema>,
  check: readonly z.infer<typeof BatchResultSchema>[],
): z.infer<typeof SummarySchema> {
  const byRule = new Map(
    plan.rules.map((rule) => [
      rule.id,
      { rule, count: 0, examples: [] as z.infer<typeof BatchResultSchema>['violations'][number]['examples'] },
    ]),
  );
  const perTable = new Map(plan.tables.map((t) => [t.table, { rows: 0, violating: new Set<number>() }]));
  for (const batch of check) {
    const table = perTable.get(batch.table);
    if (table) {
      table.rows += batch.rows;
      for (const position of batch.violatingRows) table.violating.add(position);
    }
    for (const v of batch.violations) {
      const entry = byRule.get(v.rule);
      if (!entry) continue;
      entry.count += v.count;
      entry.examples.push(...v.examples.slice(0, plan.examples - entry.examples.length));
    }
  }
  const tables = [...perTable].map(([table, t]) => ({
    table,
    rows: t.rows,
    violatingRows: t.violating.size,
    ratio: t.rows === 0 ? 0 : t.violating.size / t.rows,
  }));
  const rowsChecked = tables.reduce((n, t) => n + t.rows, 0);
  const violatingRows = tables.reduce((n, t) => n + t.violatingRows, 0);
  const ratio = rowsChecked === 0 ? 0 : violatingRows / rowsChecked;
  const violations = [...byRule.values()]
    .filter((v) => v.count > 0)
    .sort((a, b) => b.count - a.count || a.rule.id.localeCompare(b.rule.id))
    .map(({ rule, count, examples }) => ({
      rule: rule.id,
      table: rule.table,
      kind: rule.kind,
      name: rule.name,
      description: rule.description,
      enforced: rule.enforced,
      count,
      examples,
    }));
  return {
    rowsChecked,
    violatingRows,
    ratio,
    threshold: plan.threshold,
    overThreshold: ratio > plan.threshold,
    tables,
    violations,
  };
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}
