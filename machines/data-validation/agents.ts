/**
 * The default agents of the data validation: plan (catalog, rules, one task per table), check a table in one
 * pass, summarize, the threshold gate that escalates, and the report. Inputs and outputs are validated with zod.
 */
import { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { type AgentRegistry, ConfigurationError } from '../../src/index.js';
import { defineAgent } from '../lib/agent.js';
import { type Catalog, type CatalogTable, defaultSchema, findTable, introspect } from '../lib/catalog.js';
import { checkReadOnlySql } from '../lib/read-only.js';
import { type CheckerState, checkTable } from './check.js';
import { jsonSchemaPredicate, Params } from './predicates.js';
import { proposeRules } from './propose.js';
import {
  checkProposed,
  JudgedRulesSchema,
  judgeRules,
  mergeProposed,
  type RuleProposals,
  RuleProposalsSchema,
} from './proposed.js';
import { deriveRules, expressionRule, inputRule, type ZodRule, zodRule } from './rules.js';
import {
  DataValidationInputSchema,
  PlanSchema,
  type Rule,
  SummarySchema,
  TableResultSchema,
  type Task,
  TaskSchema,
  ValidationReportSchema,
} from './schemas.js';
import { summarize } from './summary.js';

/** Options of {@link dataValidationAgents}. */
export interface DataValidationAgentOptions {
  /** User rules as zod schemas, applied to every row of their table whenever it is checked (in Node). */
  readonly rules?: readonly ZodRule[];
  /** Bounds every statement of a table's pass. @default 600000 */
  readonly statementTimeoutMs?: number;
}

/** The violation ratio passed the threshold: this fails the gate step, which escalates to a human. */
class ViolationThresholdError extends Error {
  /** The same data would fail again: ask a human at once. */
  readonly retryable = false;
  readonly code = 'VIOLATION_THRESHOLD';
  constructor(
    ratio: number,
    threshold: number,
    violations: readonly { table: string; name: string; count: number }[],
  ) {
    // The rules broken most, in the message a human decides on (and the CLI prints when the run waits for one):
    // the report itself is only written after the decision.
    const worst = [...violations].sort((a, b) => b.count - a.count).slice(0, 5);
    const rules = worst.map((v) => `${v.table}: ${v.name} (${v.count} rows)`).join('; ');
    const more = violations.length > worst.length ? ` and ${violations.length - worst.length} more` : '';
    super(
      `${percent(ratio)} of the rows checked break a rule, more than the ${percent(threshold)} allowed${rules ? `. Broken: ${rules}${more}` : ''}`,
    );
    this.name = 'ViolationThresholdError';
  }
}

const ResultsSchema = z.object({
  plan: PlanSchema,
  check: z.array(TableResultSchema),
  propose: RuleProposalsSchema.optional(),
  judge: JudgedRulesSchema.optional(),
  recheck: z.array(TableResultSchema).optional(),
  summarize: SummarySchema.optional(),
  review: z.unknown().optional(),
});

/** Tables up to this size get exact distinct counts; larger ones the planner's estimate (an exact one sorts). */
const EXACT_DISTINCT_ROWS = 100_000;
const EXACT_DISTINCT_BYTES = 32 * 1024 * 1024;

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
  const state: CheckerState = { zodRules, statementTimeoutMs: options.statementTimeoutMs ?? 600_000 };
  return {
    'validation-plan': defineAgent({
      name: 'validation-plan',
      input: DataValidationInputSchema,
      output: PlanSchema,
      run: (input) => plan(db, input, options.rules ?? []),
    }),
    'validation-check-table': defineAgent({
      name: 'validation-check-table',
      input: TaskSchema,
      output: TableResultSchema,
      run: (task) => checkTable(db, task, state),
    }),
    // The seam: nothing by default (the template's own proposals are made in `plan`); an LLM proposes from the profiles.
    'validation-propose': defineAgent({
      name: 'validation-propose',
      input: ResultsSchema,
      output: RuleProposalsSchema,
      run: (): RuleProposals => ({ rules: [], notes: [] }),
    }),
    'validation-judge': defineAgent({
      name: 'validation-judge',
      input: ResultsSchema,
      output: JudgedRulesSchema,
      run: ({ plan, check, propose }) => judgeRules(db, plan, check, propose ?? { rules: [], notes: [] }),
    }),
    'validation-check-proposed': defineAgent({
      name: 'validation-check-proposed',
      input: TaskSchema,
      output: TableResultSchema,
      run: (task) => checkProposed(db, task, state),
    }),
    'validation-summarize': defineAgent({
      name: 'validation-summarize',
      input: ResultsSchema,
      output: SummarySchema,
      run: ({ plan, check, judge, recheck }) => {
        const merged = mergeProposed(plan, check, judge, recheck);
        return summarize(merged.plan, merged.check);
      },
    }),
    'validation-gate': defineAgent({
      name: 'validation-gate',
      input: SummarySchema,
      output: z.never(),
      run: ({ ratio, threshold, violations }) => {
        throw new ViolationThresholdError(ratio, threshold, violations);
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
        rulesChecked: results.plan.rules.length + (results.judge?.accepted.length ?? 0),
        batches: results.plan.tasks.length,
        enforcedSkipped: results.plan.enforcedSkipped,
        profiles: results.check.map((c) => ({ table: c.table, columns: c.profile })),
        // Only when something was proposed: with the default (silent) proposer the report is as it always was.
        ...(results.judge && results.judge.accepted.length + results.judge.refused.length > 0
          ? {
              proposals: {
                accepted: results.judge.accepted.map((r) => ({
                  rule: r.id,
                  table: r.table,
                  name: r.name,
                  expression: r.expression ?? '',
                })),
                refused: results.judge.refused,
                notes: results.judge.notes,
              },
            }
          : {}),
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
  const catalog = await introspect(db, input.schema ?? (await defaultSchema(db)));
  // Partitions are checked through their parent: one pass covers them all.
  const names = new Set(
    input.tables ?? catalog.tables.filter((t) => t.kind === 'table' && !t.partitionOf).map((t) => t.name),
  );
  for (const rule of [...input.rules, ...input.checks]) names.add(rule.table);
  const tables = [...names].map((name) => findTable(catalog, name));
  // An inheritance parent's rows include its children's: checked beside them, it is read alone.
  const inheritance = await db.query<{ parent: string; child: string }>(
    `SELECT p.relname AS parent, c.relname AS child
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE n.nspname = $1 AND NOT c.relispartition AND c.relnamespace = p.relnamespace`,
    [catalog.schema],
  );
  const parentsRead = new Set(inheritance.rows.filter((r) => names.has(r.child)).map((r) => r.parent));
  const stats = await db.query<{ table: string; column: string; distinct: number }>(
    `SELECT tablename AS "table", attname AS "column", n_distinct::float8 AS "distinct" FROM pg_stats
     WHERE schemaname = $1`,
    [catalog.schema],
  );
  const rules: Rule[] = [];
  const tasks: Task[] = [];
  let enforcedSkipped = 0;
  for (const table of tables) {
    const derived = deriveRules(table);
    enforcedSkipped += derived.enforced;
    const own = [
      ...derived.rules,
      ...(input.propose ? proposeRules(catalog, table) : []),
      ...input.rules.filter((r) => r.table === table.name).map(inputRule),
      ...input.checks.filter((r) => r.table === table.name).map(expressionRule),
      ...zodRules.filter((r) => r.table === table.name).map(zodRule),
    ];
    const task = taskOf(catalog, table, own, input.examples, stats.rows, parentsRead.has(table.name));
    for (const rule of own) await validateRule(db, task, rule);
    rules.push(...own);
    tasks.push(task);
  }
  return {
    schema: catalog.schema,
    rules,
    tasks,
    threshold: input.threshold,
    examples: input.examples,
    enforcedSkipped,
  };
}

function taskOf(
  catalog: Catalog,
  table: CatalogTable,
  rules: Rule[],
  examples: number,
  stats: readonly { table: string; column: string; distinct: number }[],
  only: boolean,
): Task {
  const keys = new Set([
    ...table.constraints.filter((c) => c.kind === 'p' || c.kind === 'f').flatMap((c) => c.columns),
    ...rules.filter((r) => r.kind === 'orphan').flatMap((r) => r.columns),
  ]);
  return {
    schema: catalog.schema,
    table: table.name,
    kind: table.kind,
    ...(only ? { only } : {}),
    key: table.constraints.find((c) => c.kind === 'p')?.columns ?? [],
    columns: table.columns.map((c) => ({
      name: c.name,
      type: c.type,
      class: classOf(c.type, c.enumValues !== null),
      key: keys.has(c.name) || /(^|_)id$|[a-z]Id$/.test(c.name),
      statsDistinct: stats.find((s) => s.table === table.name && s.column === c.name)?.distinct ?? null,
    })),
    rules,
    examples,
    exactDistinct: table.estimatedRows <= EXACT_DISTINCT_ROWS && table.sizeBytes <= EXACT_DISTINCT_BYTES,
  };
}

function classOf(type: string, isEnum: boolean): Task['columns'][number]['class'] {
  if (type.endsWith(']')) return 'other';
  if (/^(smallint|integer|bigint|numeric|real|double precision|money)/.test(type)) return 'number';
  if (/^(timestamp|date)/.test(type)) return 'instant';
  if (isEnum || /^(text|character|varchar|bpchar|citext|uuid|boolean)/.test(type)) return 'discrete';
  return 'other';
}

/** A user rule must be checkable as a whole before any table is read: translatable, compiling, read-only. */
async function validateRule(db: Database, task: Task, rule: Rule): Promise<void> {
  if (rule.kind === 'user-rule' && rule.source === 'input') jsonSchemaPredicate(task, rule, new Params());
  if (rule.kind !== 'expression') return;
  const alias = quoteIdent(task.table);
  const sql = `SELECT count(*) FROM ${qualifiedName(task.schema, task.table)} AS ${alias} WHERE (${rule.expression}) IS FALSE`;
  const { problems } = await checkReadOnlySql(sql, [], { allowLiterals: true });
  if (problems.length > 0) throw new ConfigurationError(`Rule '${rule.name}': ${problems.join('; ')}`);
  try {
    await db.transaction((tx) => tx.query(`EXPLAIN ${sql}`), { readOnly: true, statementTimeoutMs: 10_000 });
  } catch (error) {
    throw new ConfigurationError(
      `Rule '${rule.name}' does not compile on ${task.table}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}
