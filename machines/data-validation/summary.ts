/**
 * The summary of every table's pass: rows and violating rows, each broken rule with its examples, and the notes
 * the profiles call for (columns always NULL, constant, with outliers, stale timestamps, dropped proposals).
 */
import type { z } from 'zod';
import { happened } from './propose.js';
import type { NoteSchema, PlanSchema, SummarySchema, TableResult } from './schemas.js';

type Note = z.infer<typeof NoteSchema>;

/** Days without a new row after which a creation or update timestamp is called stale. */
const STALE_DAYS = 90;

/** Sums up the tables' results against the plan's rules and threshold. */
export function summarize(
  plan: z.infer<typeof PlanSchema>,
  check: readonly TableResult[],
): z.infer<typeof SummarySchema> {
  const rules = new Map(plan.rules.map((r) => [r.id, r]));
  const tables = check.map((t) => ({
    table: t.table,
    rows: t.rows,
    violatingRows: t.violatingRows,
    ratio: t.rows === 0 ? 0 : t.violatingRows / t.rows,
    durationMs: t.durationMs,
  }));
  const rowsChecked = tables.reduce((n, t) => n + t.rows, 0);
  const violatingRows = tables.reduce((n, t) => n + t.violatingRows, 0);
  const ratio = rowsChecked === 0 ? 0 : violatingRows / rowsChecked;
  const violations = check
    .flatMap((t) => t.violations)
    .flatMap((v) => {
      const rule = rules.get(v.rule);
      if (!rule) return [];
      const { id, table, kind, name, description, enforced, source } = rule;
      return [
        { rule: id, table, kind, name, description, enforced, source, count: v.count, examples: v.examples },
      ];
    })
    .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  return {
    rowsChecked,
    violatingRows,
    ratio,
    threshold: plan.threshold,
    overThreshold: ratio > plan.threshold,
    tables,
    violations,
    notes: check.flatMap((t) => notesOf(t, rules)),
  };
}

function notesOf(
  result: TableResult,
  rules: ReadonlyMap<string, { name: string; columns: string[] }>,
): Note[] {
  const notes: Note[] = [...result.notes];
  const note = (column: string, kind: Note['kind'], message: string) =>
    notes.push({ table: result.table, column, kind, message });
  if (result.error !== undefined)
    note('', 'unchecked', `${result.table} could not be checked: ${result.error}`);
  for (const p of result.profile) {
    if (result.rows > 0 && p.nonNull === 0) note(p.column, 'all-null', `${p.column} is NULL in every row`);
    else if (result.rows >= 20 && p.nullRate >= 0.95)
      note(p.column, 'mostly-null', `${p.column} is NULL in ${(p.nullRate * 100).toFixed(1)}% of the rows`);
    if (result.rows >= 20 && p.distinct === 1 && !p.distinctEstimated)
      note(p.column, 'constant', `${p.column} has one value in every non-NULL row`);
    if (p.outliers)
      note(
        p.column,
        'outliers',
        `${p.outliers} value(s) of ${p.column} lie over 6 standard deviations from its mean ${round(p.mean)} (between ${p.min} and ${p.max})`,
      );
    if (p.newestAgeDays !== null && p.newestAgeDays > STALE_DAYS && happened(p.column))
      note(
        p.column,
        'stale',
        `The newest ${p.column} is ${Math.round(p.newestAgeDays)} days old (${p.max}): is this table still loaded?`,
      );
  }
  for (const id of result.dropped) {
    const rule = rules.get(id);
    if (rule)
      note(
        rule.columns[0] ?? '',
        'proposal-dropped',
        `Not proposed: '${rule.name}' is contradicted by too many rows to be a rule here`,
      );
  }
  return notes;
}

function round(n: number | null): string {
  return n === null ? 'n/a' : String(Math.round(n * 100) / 100);
}
