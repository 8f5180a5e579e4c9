/**
 * The readable report at the end of `flowstate run` and of each showcase template: a few lines summarizing the
 * template's output. `--json` prints the output itself instead.
 */
import type { ValidationReport } from '../../../machines/data-validation.js';
import type { MigrationReport } from '../../../machines/migration.js';
import type { OptimizationReport } from '../../../machines/optimization.js';
import type { QueryReport } from '../../../machines/query-generation.js';
import type { SchemaReport } from '../../../machines/schema-analysis.js';

/**
 * Summarizes a template's output in lines (without indentation). `full` lists every finding, violation or
 * recommendation; otherwise the first few and a count of the rest.
 *
 * @example
 * ```ts
 * for (const line of summarize('schema-analysis', output, { full: true })) io.out(`  ${line}`);
 * ```
 */
export function summarize(templateId: string, output: unknown, options: { full: boolean }): string[] {
  const limit = options.full ? Number.POSITIVE_INFINITY : 3;
  switch (templateId) {
    case 'schema-analysis':
      return schemaAnalysis(output as SchemaReport, limit);
    case 'data-validation':
      return dataValidation(output as ValidationReport, limit);
    case 'migration':
      return migration(output as MigrationReport, limit);
    case 'query-generation':
      return queryGeneration(output as QueryReport, limit);
    case 'optimization':
      return optimization(output as OptimizationReport, limit);
    default:
      return [JSON.stringify(output, null, 2)];
  }
}

/** The first `limit` items as lines, then `… and n more`. */
function some<T>(items: readonly T[], limit: number, line: (item: T) => string): string[] {
  const shown = items.slice(0, limit).map((item) => `  ${line(item)}`);
  return items.length > limit ? [...shown, `  … and ${items.length - limit} more`] : shown;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function schemaAnalysis(r: SchemaReport, limit: number): string[] {
  const o = r.overview;
  return [
    `schema '${r.schema}': score ${r.score}/100, grade ${r.grade} (${plural(o.tables, 'table')}, ${plural(o.indexes, 'index', 'indexes')}, ${plural(o.foreignKeys, 'foreign key')})`,
    `findings: ${r.counts.critical} critical, ${r.counts.warning} warning, ${r.counts.info} info`,
    ...some(
      r.findings,
      limit,
      (f) => `[${f.severity}] ${f.kind} ${f.table}${f.target ? `.${f.target}` : ''}`,
    ),
    `fixes (${r.path}): ${r.actions.length}, ${r.actions.filter((a) => a.dryRun === 'ok').length} dry-run ok`,
    ...(r.explanation ? [`explanation: ${r.explanation.summary}`] : []),
  ];
}

function dataValidation(r: ValidationReport, limit: number): string[] {
  const broken = r.violations.filter((v) => v.count > 0);
  return [
    `${r.rowsChecked} rows checked in ${plural(r.batches, 'batch', 'batches')} against ${plural(r.rulesChecked, 'rule')}: ${r.violatingRows} violating (${(r.ratio * 100).toFixed(2)}%, threshold ${(r.threshold * 100).toFixed(0)}%)`,
    `${plural(broken.length, 'rule')} broken:`,
    ...some(broken, limit, (v) => `${v.table}: ${v.name} (${plural(v.count, 'row')})`),
    ...(r.proposals ? proposedRules(r.proposals, limit) : []),
  ];
}

/** The rules a proposer (an LLM) gave: how many the judge took, and the refused ones with why. */
function proposedRules(p: NonNullable<ValidationReport['proposals']>, limit: number): string[] {
  return [
    `proposed rules: ${p.accepted.length} accepted, ${p.refused.length} refused`,
    ...some(p.refused, limit, (r) => `refused ${r.table}: ${r.name} (${r.reason})`),
  ];
}

function migration(r: MigrationReport, limit: number): string[] {
  const approval = r.approval ? `, approved by ${r.approval.by} (${r.approval.source})` : '';
  if (r.status === 'nothing-to-migrate') return [r.summary];
  const rewrite = r.proposedRewrite
    ? [`rewrite ${r.proposedRewrite.status}: ${r.proposedRewrite.reason}`]
    : [];
  return [
    ...rewrite,
    ...(r.explanation ? [`risks: ${r.explanation}`] : []),
    `${r.status}: ${plural(r.statements.length, 'statement')} on '${r.schema}'${r.destructive ? ', destructive' : ''}${approval}`,
    `dry run ${r.dryRun.durationMs} ms (${r.dryRun.reversible ? 'reversible' : 'not reversible'}), apply ${r.apply.durationMs} ms`,
    `${plural(r.changes.length, 'schema change')}:`,
    ...some(
      r.changes,
      limit,
      (c) => `${c.object} ${c.before === null ? 'added' : c.after === null ? 'removed' : 'changed'}`,
    ),
  ];
}

function queryGeneration(r: QueryReport, limit: number): string[] {
  const lines = [`'${r.request}': ${r.status} after ${plural(r.attempts, 'attempt')}`];
  if (r.sql !== null) lines.push(`  ${r.sql.replace(/\s+/g, ' ').trim()}`);
  if (r.status === 'answered') {
    lines.push(`${plural(r.sample.length, 'sample row')} (${r.columns.join(', ')})`);
    lines.push(...some(r.sample, limit, (row) => JSON.stringify(row)));
  } else {
    lines.push(...some(r.problems, limit, (p) => p));
  }
  return lines;
}

function optimization(r: OptimizationReport, limit: number): string[] {
  return [
    `${plural(r.queries.length, 'query', 'queries')} measured (${r.source}), ${plural(r.recommendations.length, 'recommendation')}, ${r.rejected.length} rejected`,
    ...some(r.recommendations, limit, (rec) => `${rec.ddl}  -- ${effect(rec)}`),
  ];
}

/**
 * What a recommendation's trial measured. Judged on the planner's estimates (HypoPG, or a query with `$n` and no
 * values, which never runs), the costs it compared: times of 0 ms would read as measured. A median timed before a
 * hypothetical trial is real and kept; the time after is not (nothing was built), so it is not shown.
 */
function effect(rec: OptimizationReport['recommendations'][number]): string {
  // A report stored before costs were recorded has no `judgedOn`: its times are all it has.
  if (rec.judgedOn !== 'cost') return `${rec.speedup}x (${rec.beforeMs} → ${rec.afterMs} ms)`;
  const timed = rec.beforeMs > 0 ? ` (measured ${rec.beforeMs} ms before)` : '';
  return `cost ${cost(rec.costBefore)} → ${cost(rec.costAfter)}, ${rec.speedup}x${timed}`;
}

/** A planner cost as EXPLAIN shows it, without the noise of decimals on large ones. */
function cost(value: number): string {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 100) / 100);
}
