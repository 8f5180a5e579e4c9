/**
 * The migration's rewrite and risk explanation: the `migration-rewrite` agent (templated by default, an LLM when
 * one is plugged in) may propose a lock-safe form of the SQL the lint flagged, and explains the risks in plain
 * words for the approval request. The `migration-judge` step decides with the lint itself: a rewrite is taken
 * only when PostgreSQL's parser reads it, the lint proves every statement (no DO block, function or unknown
 * statement) and finds it strictly safer (no more dangers, warnings or table rewrites, and fewer of one), and it
 * changes the same tables and objects in the same way (each statement given is in it, up to CONCURRENTLY and NOT
 * VALID; helper constraints or indexes new to those tables aside: `rewrite-match.ts`). A rewrite taken is
 * still dry-run on a scratch copy and always held for a human's approval, even with `approvedBy` in the input: a
 * person approved the SQL they gave, not this one.
 */
import type { Database } from '../../src/db/index.js';
import { type Lint, lintMigration } from './lint.js';
import { type PlannedStatement, parseMigration, tablesOf } from './parse.js';
import { planMigration } from './plan.js';
import { sameStatements } from './rewrite-match.js';
import type { JudgedMigration, Plan, Rewrite } from './schemas.js';

/**
 * The default rewrite agent's answer: no rewrite (the lint's advice is in its findings), and an explanation
 * written from the lint's findings and locks.
 *
 * @example
 * ```ts
 * templatedRewrite(plan, lint).explanation; // 'Statement 1 takes a SHARE lock on orders (~5000 rows) ...'
 * ```
 */
export function templatedRewrite(plan: Plan, lint: Lint): Rewrite {
  if (plan.statements.length === 0) return { sql: null, explanation: 'Nothing to migrate: no risk.' };
  const risky = lint.findings.filter((f) => f.severity === 'danger' || f.severity === 'warning');
  const locks = lint.locks
    .filter((l) => l.lock === 'ACCESS EXCLUSIVE' || l.lock === 'SHARE' || l.lock === 'SHARE ROW EXCLUSIVE')
    .map(
      (l) =>
        `statement ${l.statement + 1} takes ${l.lock} on ${l.table} (${l.lock === 'ACCESS EXCLUSIVE' ? 'reads and writes wait' : 'writes wait'})`,
    );
  const parts = [
    `${plan.statements.length} statement(s) on ${[...new Set(plan.statements.flatMap((s) => tablesOf(s.operation).map((t) => t.name)))].join(', ') || 'no existing table'}.`,
    risky.length === 0
      ? 'The lint found nothing that loses data or blocks for long.'
      : `Risks: ${risky.map((f) => `statement ${f.statement + 1}: ${f.message}`).join('; ')}.`,
    locks.length > 0 ? `Locks: ${locks.join('; ')}.` : '',
    'It is dry-run on a scratch copy of the schema first, and reverted if the apply or the verification fails.',
  ];
  return { sql: null, explanation: parts.filter((p) => p !== '').join(' ') };
}

/**
 * Judges the rewrite agent's answer; returns the plan and lint the later steps use.
 *
 * @example
 * ```ts
 * const judged = await judgeRewrite(db, plan, lint, { sql: 'CREATE INDEX CONCURRENTLY ...', explanation });
 * judged.rewrite?.status; // 'taken'
 * ```
 */
export async function judgeRewrite(
  db: Database,
  plan: Plan,
  lint: Lint,
  answer: Rewrite,
): Promise<JudgedMigration> {
  const kept = { plan, lint, preview: plan.proposed, explanation: answer.explanation.trim() };
  const sql = answer.sql?.trim() ?? '';
  if (sql === '' || sql === plan.statements.map((s) => s.sql).join(';\n')) return { ...kept, rewrite: null };
  const refuse = (reason: string): JudgedMigration => ({
    ...kept,
    rewrite: { status: 'refused', sql, reason },
  });
  if (plan.proposed)
    return refuse('the migration is Flowstate’s own lock-safe proposal: it is not rewritten');
  let statements: PlannedStatement[];
  try {
    statements = await parseMigration(sql);
  } catch (error) {
    return refuse((error as Error).message);
  }
  if (statements.length === 0) return refuse('it has no statement');
  const original = lintMigration(plan.statements, plan.before);
  const candidate = lintMigration(statements, plan.before);
  const unproven = candidate.findings.filter((f) => f.rule === 'unproven' || f.severity === 'error');
  if (unproven.length > 0) {
    return refuse(
      `the lint cannot prove it: ${unproven.map((f) => `statement ${f.statement + 1}: ${f.message}`).join('; ')}`,
    );
  }
  const drift = sameObjects(plan, statements) ?? (await sameStatements(plan, statements));
  if (drift) return refuse(drift);
  const worse = compare(original, candidate);
  if (worse) return refuse(worse);
  // Re-planned as given SQL: snapshot, row counts, backups and renames of what will actually run.
  const rewritten = await planMigration(db, {
    sql,
    schema: plan.schema,
    keepBackups: plan.keepBackups,
  });
  const finding = {
    statement: 0,
    rule: 'rewritten',
    severity: 'danger' as const,
    message: `rewritten by the migration-rewrite agent from the SQL given (${plan.statements.map((s) => s.sql).join('; ')}), not written by a person: held for approval`,
  };
  return {
    plan: { ...rewritten, approvedBy: null },
    lint: { ...candidate, destructive: true, findings: [...candidate.findings, finding] },
    preview: true,
    explanation: kept.explanation,
    rewrite: { status: 'taken', sql, reason: saferBy(original, candidate) },
  };
}

/** The later steps' plan and lint: the judge's when it ran (a rewrite taken replaces the given SQL's). */
export function effective<R extends { plan: Plan; lint: Lint; judge?: JudgedMigration | undefined }>(
  results: R,
): R {
  return results.judge ? { ...results, plan: results.judge.plan, lint: results.judge.lint } : results;
}

type Counts = Record<'danger' | 'warning' | 'rewrites', number>;

function counts(lint: Lint): Counts {
  const n = (s: string) => lint.findings.filter((f) => f.severity === s).length;
  return { danger: n('danger'), warning: n('warning'), rewrites: lint.rewrites };
}

/** Why `candidate` is not strictly safer than `original`, or null when it is. */
function compare(original: Lint, candidate: Lint): string | null {
  const a = counts(original);
  const b = counts(candidate);
  const keys = Object.keys(a) as (keyof Counts)[];
  const more = keys.filter((k) => b[k] > a[k]);
  if (more.length > 0) {
    return `the lint finds it less safe: ${more.map((k) => `${b[k]} ${k === 'rewrites' ? 'table rewrites' : `${k} findings`} against ${a[k]}`).join(', ')}`;
  }
  if (!keys.some((k) => b[k] < a[k])) return 'the lint finds it no safer than the SQL given';
  return null;
}

function saferBy(original: Lint, candidate: Lint): string {
  const a = counts(original);
  const b = counts(candidate);
  return `the lint finds it safer: ${a.danger} → ${b.danger} dangers, ${a.warning} → ${b.warning} warnings, ${a.rewrites} → ${b.rewrites} table rewrites`;
}

/** The objects a migration changes, as `table:t`, `index:i`, `constraint:c`, `column:t.c`. */
function objectsOf(statements: readonly PlannedStatement[]): Set<string> {
  const out = new Set<string>();
  for (const { operation: op } of statements) {
    for (const t of tablesOf(op)) out.add(`table:${t.name}`);
    if (op.kind === 'create-index') out.add(`index:${op.name ?? `(unnamed on ${op.table.name})`}`);
    if (op.kind === 'drop-index') for (const i of op.indexes) out.add(`index:${i.name}`);
    if (op.kind === 'alter-table') {
      for (const a of op.actions) {
        if ('column' in a) out.add(`column:${op.table.name}.${a.column}`);
        if (a.kind === 'add-constraint') out.add(`constraint:${a.name ?? `(unnamed on ${op.table.name})`}`);
        if (a.kind === 'validate-constraint') out.add(`constraint:${a.name}`);
        if (a.kind === 'rename-table' || a.kind === 'rename-column') out.add(`rename:${a.to}`);
      }
    }
    if (op.kind === 'other') out.add(`statement:${op.statement}`);
  }
  return out;
}

/**
 * Why the rewrite does not change the same objects as the SQL given, or null: every object of the original must
 * be in it, and anything more may only be a new constraint or index (one the schema does not have), as the
 * lock-safe forms need (a CHECK NOT VALID before SET NOT NULL, a unique index built CONCURRENTLY first).
 */
function sameObjects(plan: Plan, statements: readonly PlannedStatement[]): string | null {
  const before = objectsOf(plan.statements);
  const after = objectsOf(statements);
  const missing = [...before].filter((o) => !after.has(o));
  if (missing.length > 0) return `it no longer changes ${missing.join(', ')}`;
  const existing = new Set(
    plan.before.tables.flatMap((t) => [
      ...t.indexes.map((i) => `index:${i.name}`),
      ...t.constraints.map((c) => `constraint:${c.name}`),
    ]),
  );
  const extra = [...after].filter(
    (o) => !before.has(o) && !((o.startsWith('index:') || o.startsWith('constraint:')) && !existing.has(o)),
  );
  if (extra.length > 0) return `it also changes ${extra.join(', ')}, which the SQL given does not`;
  return null;
}
