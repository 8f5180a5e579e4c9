/**
 * Counting the rows whose nullable foreign key is NULL, bounded on any database: a table the planner puts at up to
 * {@link EXACT_ROWS} rows is counted exactly, a larger one from a page sample (`TABLESAMPLE SYSTEM`, about
 * {@link SAMPLE_ROWS} rows read however large the table), every count in one READ ONLY transaction with a statement
 * timeout and a lock timeout, each in a savepoint, under an overall time budget. A count that cannot be made (no
 * SELECT on the table, a lock held by someone else, a timeout, the budget spent) leaves the finding without counts,
 * with the reason: the analysis is of the catalog, one unreadable table must not sink it.
 */
import type { Database } from '../../src/db/index.js';
import { type Catalog, columnRef, tableRef } from '../lib/catalog.js';
import * as checks from './checks.js';
import type { Finding, Findings } from './findings.js';

/** Tables up to this many rows (the planner's estimate) are counted exactly. */
const EXACT_ROWS = 100_000;
/** About how many rows a sample of a larger table reads. */
const SAMPLE_ROWS = 100_000;

/** Bounds of the counts: each statement, each wait for a lock, and all of them together. */
export interface NullKeyLimits {
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly budgetMs: number;
}

const LIMITS: NullKeyLimits = { statementTimeoutMs: 10_000, lockTimeoutMs: 2_000, budgetMs: 30_000 };

type Count =
  | { readonly total: number; readonly nulls: number; readonly sampledPercent: number | null }
  | { readonly error: string };

/** One `nullable-foreign-key` finding per foreign key with a nullable column, with its NULL rows counted. */
export async function nullableForeignKeys(
  db: Database,
  catalog: Catalog,
  limits: NullKeyLimits = LIMITS,
): Promise<Findings> {
  const keys = checks.nullableForeignKeyColumns(catalog);
  if (keys.length === 0) return { findings: [] };
  const deadline = Date.now() + limits.budgetMs;
  const counts: Count[] = [];
  await db.transaction(
    async (tx) => {
      await tx.query("SELECT set_config('lock_timeout', $1, true)", [`${limits.lockTimeoutMs}ms`]);
      for (const { table, columns } of keys) {
        if (Date.now() > deadline) {
          counts.push({
            error: `not counted: the ${limits.budgetMs / 1000} s given to the counts were spent`,
          });
          continue;
        }
        const anyNull = columns.map((c) => `${columnRef(table, c)} IS NULL`).join(' OR ');
        const percent =
          table.estimatedRows > EXACT_ROWS ? Math.max(0.01, (100 * SAMPLE_ROWS) / table.estimatedRows) : null;
        const sample = percent === null ? '' : ` TABLESAMPLE SYSTEM (${percent.toFixed(4)})`;
        try {
          // A savepoint each: a count that fails (privilege, lock, timeout) must not abort the others.
          const { rows } = await tx.transaction((sp) =>
            sp.query<{ total: number; nulls: number }>(
              `SELECT count(*) AS total, count(*) FILTER (WHERE ${anyNull}) AS nulls FROM ${tableRef(catalog, table.name)}${sample}`,
            ),
          );
          counts.push({
            total: Number(rows[0]?.total ?? 0),
            nulls: Number(rows[0]?.nulls ?? 0),
            sampledPercent: percent,
          });
        } catch (error) {
          counts.push({ error: `not counted (${error instanceof Error ? error.message : String(error)})` });
        }
      }
    },
    { readOnly: true, statementTimeoutMs: limits.statementTimeoutMs },
  );
  const findings = keys.map(({ table, columns, constraint }, i): Finding => {
    const count = counts[i] ?? { error: 'not counted' };
    return {
      id: `nullable-foreign-key:${table.name}.${columns.join(',')}`,
      kind: 'nullable-foreign-key',
      severity: 'info',
      table: table.name,
      target: columns.join(', '),
      message: `Foreign key ${constraint} allows NULL in ${table.name}.${columns.join(', ')}: ${describe(count, table.estimatedRows)}. Make it NOT NULL if every row needs one`,
    };
  });
  return { findings };
}

function describe(count: Count, estimatedRows: number): string {
  if ('error' in count) return `its NULL rows were ${count.error}`;
  if (count.sampledPercent === null) return `${count.nulls} of ${count.total} rows have none`;
  const share = count.total === 0 ? 0 : count.nulls / count.total;
  return `about ${(share * 100).toFixed(1)}% of its rows have none (${count.nulls} of ${count.total} rows in a ${count.sampledPercent.toFixed(2)}% page sample of about ${estimatedRows} rows)`;
}
