/**
 * Rules proposed after the first pass, from the profiles (by the `validation-propose` agent: nothing by default,
 * an LLM when one is plugged in), and their judge. A proposal is a boolean SQL expression over one row of a table
 * checked in this run; the judge parses it ({@link judgeExpression}: only the table's own columns, constants,
 * built-in operators and a list of immutable or stable functions; no subquery) and compiles what it rebuilt with
 * EXPLAIN in a READ ONLY transaction. Refused rules are reported with their reason and never run; accepted ones are
 * counted in a second set-based pass over their tables (read-only too), and a rule the data contradicts broadly
 * is dropped, as the template's own proposals are.
 */
import { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { loadParser } from '../lib/pg-parser.js';
import { type CheckerState, countAny, examples, fromClause } from './check.js';
import { judgeExpression } from './expression.js';
import { Params, type Predicate, predicateOf } from './predicates.js';
import { PROPOSAL_TOLERANCE } from './propose.js';
import {
  type PlanSchema,
  type Rule,
  RuleSchema,
  type TableResult,
  TableResultSchema,
  type Task,
  TaskSchema,
} from './schemas.js';

/** What the `validation-propose` step returns: rules as SQL expressions, each for one table, with why. */
export const RuleProposalsSchema = z.object({
  rules: z
    .array(
      z.object({
        table: z.string().describe('a table of the list, exactly as named'),
        name: z.string().max(200).describe('a short name, e.g. "discount between 0 and 1"'),
        expression: z
          .string()
          .max(2_000)
          .describe('a boolean SQL expression every row should make true, over that table’s columns only'),
        reason: z.string().max(1_000).describe('which profile figure suggests it'),
      }),
    )
    .max(50),
  notes: z.array(z.string().max(1_000)).max(20).default([]),
});
/** The proposals as their writer gave them. */
export type RuleProposals = z.infer<typeof RuleProposalsSchema>;

/** A proposal the judge refused, with why: reported, never run. */
const RefusedRuleSchema = z.object({
  table: z.string(),
  name: z.string(),
  expression: z.string(),
  reason: z.string(),
});

/** What the `validation-judge` step returns: the accepted rules, the refused ones, and the tasks of the second pass. */
export const JudgedRulesSchema = z.object({
  accepted: z.array(RuleSchema),
  refused: z.array(RefusedRuleSchema),
  /** One per table with accepted rules: its first pass's SQL rules (those not dropped) and the accepted ones. */
  tasks: z.array(TaskSchema),
  notes: z.array(z.string()),
});
/** The judge's verdicts. */
export type JudgedRules = z.infer<typeof JudgedRulesSchema>;

/** How long compiling one rule may take. */
const COMPILE_TIMEOUT_MS = 10_000;

/**
 * Judges every proposal against the plan's tables and the database (compile only, read-only).
 *
 * @example
 * ```ts
 * const { accepted, refused } = await judgeRules(db, plan, check, { rules: [...], notes: [] });
 * ```
 */
export async function judgeRules(
  db: Database,
  plan: z.infer<typeof PlanSchema>,
  check: readonly TableResult[],
  proposals: RuleProposals,
): Promise<JudgedRules> {
  const accepted: Rule[] = [];
  const refused: z.infer<typeof RefusedRuleSchema>[] = [];
  if (proposals.rules.length > 0) await loadParser();
  const ids = new Set(plan.rules.map((r) => r.id));
  const seen = new Set<string>();
  for (const p of proposals.rules) {
    const refuse = (reason: string) => refused.push({ ...p, reason });
    const task = plan.tasks.find((t) => t.table === p.table);
    if (!task) {
      refuse(`${p.table} is not a table this run checks`);
      continue;
    }
    const verdict = judgeExpression(
      p.expression,
      task.table,
      task.columns.map((c) => c.name),
    );
    if (!verdict.ok) {
      refuse(verdict.reason);
      continue;
    }
    if (seen.has(`${task.table}\0${verdict.sql}`)) {
      refuse('the same rule was proposed already');
      continue;
    }
    const problem = await compiles(db, task, verdict.sql);
    if (problem) {
      refuse(`PostgreSQL refuses it on ${task.table}: ${problem}`);
      continue;
    }
    seen.add(`${task.table}\0${verdict.sql}`);
    let id = `proposer:${task.table}:${p.name}`;
    for (let n = 2; ids.has(id); n++) id = `proposer:${task.table}:${p.name} (${n})`;
    ids.add(id);
    accepted.push({
      id,
      table: task.table,
      kind: 'expression',
      name: p.name,
      columns: verdict.columns,
      description: `${p.reason.trim() || 'Proposed'} (every row satisfies ${verdict.sql})`,
      enforced: false,
      expression: verdict.sql,
      source: 'proposer',
    });
  }
  const tasks = plan.tasks.flatMap((task) => {
    const rules = accepted.filter((r) => r.table === task.table);
    const first = check.find((c) => c.table === task.table);
    // A table the first pass could not read is reported unchecked; a second pass would fail the same way.
    if (rules.length === 0 || first?.error !== undefined) return [];
    const dropped = new Set(first?.dropped ?? []);
    const kept = task.rules.filter((r) => r.source !== 'agents' && !dropped.has(r.id));
    return [{ ...task, rules: [...kept, ...rules] }];
  });
  return { accepted, refused, tasks, notes: proposals.notes.map((n) => `proposer: ${n}`) };
}

/** The server's message when the rebuilt rule does not compile as a boolean over the table, else null. */
async function compiles(db: Database, task: Task, sql: string): Promise<string | null> {
  const alias = quoteIdent(task.table);
  try {
    await db.transaction(
      (tx) =>
        tx.query(
          `EXPLAIN SELECT count(*) FILTER (WHERE (${sql}) IS FALSE) FROM ${qualifiedName(task.schema, task.table)} AS ${alias}`,
        ),
      { readOnly: true, statementTimeoutMs: COMPILE_TIMEOUT_MS },
    );
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The second pass over a table with accepted proposals: one read-only query counts the rows breaking each of them
 * and the rows breaking any rule (the first pass's and these); a proposal broken by more than
 * {@link PROPOSAL_TOLERANCE} of the rows is dropped (the data says it is not a rule here). The result lists only
 * the proposals' violations.
 */
export async function checkProposed(db: Database, task: Task, state: CheckerState): Promise<TableResult> {
  const started = performance.now();
  return db.transaction(
    async (tx) => {
      const params = new Params();
      const predicates: Predicate[] = [];
      for (const [i, rule] of task.rules.entries())
        predicates.push(await predicateOf(tx, task, rule, i, params));
      const fresh = task.rules.flatMap((rule, i) => (rule.source === 'proposer' ? [{ rule, i }] : []));
      const counts = fresh.map(
        ({ i }) => `count(*) FILTER (WHERE ${predicates[i]?.outer}) AS ${quoteIdent(`v${i}`)}`,
      );
      const any = `count(*) FILTER (WHERE ${predicates.map((p) => p.outer).join(' OR ')})`;
      const { rows } = await tx.query<Record<string, unknown>>(
        `SELECT count(*) AS "rows", ${any} AS "any", ${counts.join(', ')} ${fromClause(task, predicates)}`,
        params.values,
      );
      const totals = rows[0] ?? {};
      const total = Number(totals.rows ?? 0);
      const found = fresh.map(({ rule, i }) => ({ rule, i, count: Number(totals[`v${i}`] ?? 0) }));
      const dropped = found.filter((f) => total > 0 && f.count / total > PROPOSAL_TOLERANCE);
      let violatingRows = Number(totals.any ?? 0);
      if (dropped.length > 0) {
        const kept = task.rules.filter((r) => !dropped.some((d) => d.rule === r));
        violatingRows = await countAny(tx, task, kept, task.rules);
      }
      const violations = [];
      for (const { rule, i, count } of found) {
        if (count === 0 || dropped.some((d) => d.rule === rule)) continue;
        violations.push({ rule: rule.id, count, examples: await examples(tx, task, rule, i) });
      }
      return TableResultSchema.parse({
        table: task.table,
        rows: total,
        violatingRows,
        violations,
        dropped: dropped.map((d) => d.rule.id),
        profile: [],
        notes: [],
        durationMs: Math.round(performance.now() - started),
      });
    },
    { readOnly: true, statementTimeoutMs: state.statementTimeoutMs },
  );
}

/**
 * The first pass's results with the second's folded in: per table, the proposals' violations and drops added, and
 * the rows breaking any rule taken from the second pass (plus what the zod rules found, which it does not run).
 */
export function mergeProposed(
  plan: z.infer<typeof PlanSchema>,
  check: readonly TableResult[],
  judged: JudgedRules | undefined,
  recheck: readonly TableResult[] | undefined,
): { plan: z.infer<typeof PlanSchema>; check: TableResult[] } {
  if (!judged || judged.accepted.length === 0) return { plan, check: [...check] };
  const zodRules = new Set(plan.rules.filter((r) => r.source === 'agents').map((r) => r.id));
  const merged = check.map((first) => {
    const second = recheck?.find((r) => r.table === first.table);
    if (!second) return first;
    const zodRows = first.violations.filter((v) => zodRules.has(v.rule)).reduce((n, v) => n + v.count, 0);
    return {
      ...first,
      violatingRows: Math.min(first.rows, second.violatingRows + zodRows),
      violations: [...first.violations, ...second.violations],
      dropped: [...first.dropped, ...second.dropped],
      durationMs: first.durationMs + second.durationMs,
    };
  });
  return { plan: { ...plan, rules: [...plan.rules, ...judged.accepted] }, check: merged };
}
