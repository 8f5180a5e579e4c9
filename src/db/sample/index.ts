/**
 * The sample e-commerce database: schema, deterministic rows and planted defects, for the templates' tests and
 * the showcase.
 */
import { ConfigurationError } from '../../model/errors.js';
import { quoteIdent } from '../ident.js';
import type { Database } from '../port.js';
import { generateSample } from './data.js';
import { CONSTRAINT_STATEMENTS, CREATE_STATEMENTS, SAMPLE_OBJECTS } from './schema.js';

export {
  PLANTED_COUNTS,
  PLANTED_PROBLEMS,
  type PlantedProblem,
  type PlantedTemplate,
  SAMPLE_MIGRATION,
  SAMPLE_SLOW_QUERY,
} from './problems.js';

/** Options of {@link seedSample}. */
export interface SampleOptions {
  /** The schema to create the sample in (created when missing). @default 'public' */
  readonly schema?: string;
  /** The PRNG seed: the same seed gives the same rows. @default 42 */
  readonly seed?: number;
  /** Row count multiplier, from 0.1 (about 1,700 rows) to 20. @default 1 (about 17,000 rows) */
  readonly scale?: number;
  /** Drop the sample's tables, view and type first, when they exist. @default false */
  readonly replace?: boolean;
}

/** What {@link seedSample} created. */
export interface SampleSummary {
  readonly schema: string;
  /** Rows per table. */
  readonly rows: Readonly<Record<string, number>>;
  readonly durationMs: number;
}

/**
 * Creates the sample e-commerce database (customers, products, orders, order items, reviews, an audit log) in one
 * transaction, with the defects listed in `PLANTED_PROBLEMS`, then `ANALYZE`s it so plans are realistic.
 *
 * @example
 * ```ts
 * const db = await pgliteDatabase();
 * await seedSample(db);
 * const { rows } = await db.query(SAMPLE_SLOW_QUERY.sql, SAMPLE_SLOW_QUERY.params);
 * ```
 */
export async function seedSample(db: Database, options: SampleOptions = {}): Promise<SampleSummary> {
  const schema = options.schema ?? 'public';
  const scale = options.scale ?? 1;
  if (!(scale >= 0.1 && scale <= 20))
    throw new ConfigurationError(`scale must be between 0.1 and 20, got ${scale}`);
  const started = performance.now();
  const data = generateSample(options.seed ?? 42, scale);
  const rows: Record<string, number> = {};
  await db.transaction(async (tx) => {
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    // SET LOCAL through set_config: unqualified names below land in `schema`, for this transaction only.
    await tx.query("SELECT set_config('search_path', $1, true)", [quoteIdent(schema)]);
    if (options.replace) {
      for (const view of SAMPLE_OBJECTS.views) await tx.query(`DROP VIEW IF EXISTS ${quoteIdent(view)}`);
      for (const table of [...SAMPLE_OBJECTS.tables].reverse()) {
        await tx.query(`DROP TABLE IF EXISTS ${quoteIdent(table)} CASCADE`);
      }
      for (const type of SAMPLE_OBJECTS.types) await tx.query(`DROP TYPE IF EXISTS ${quoteIdent(type)}`);
    }
    for (const statement of CREATE_STATEMENTS) await tx.query(statement);
    for (const { table, columns, types } of data.tables) {
      const names = Object.keys(columns);
      // One statement per table: every column is one text[] parameter, unnested into rows and cast to its type
      // (text arrays serialize the same way on both drivers, enum arrays do not).
      const params = types.map((_, i) => `$${i + 1}::text[]`).join(', ');
      const casts = types.map((type, i) => `c${i}::${type}`).join(', ');
      const aliases = types.map((_, i) => `c${i}`).join(', ');
      const sql = `INSERT INTO ${quoteIdent(table)} (${names.map(quoteIdent).join(', ')})
        SELECT ${casts} FROM unnest(${params}) AS u(${aliases})`;
      const result = await tx.query(sql, Object.values(columns).map(asText));
      rows[table] = result.rowCount;
    }
    // Totals are the sum of the items, except the planted wrong ones (set off by a non-zero amount).
    await tx.query(
      `UPDATE orders o SET total = s.items_total + CASE WHEN o.id = ANY($1::int[]) THEN 10 + o.id % 7 ELSE 0 END
       FROM (SELECT order_id, sum(quantity * unit_price) AS items_total FROM order_items GROUP BY order_id) s
       WHERE s.order_id = o.id`,
      [data.wrongTotalOrders],
    );
    for (const statement of CONSTRAINT_STATEMENTS) await tx.query(statement);
    await tx.query('ANALYZE');
  });
  return { schema, rows, durationMs: Math.round(performance.now() - started) };
}

/** Array parameters go as text (`null` stays null); PostgreSQL casts each value to its column type. */
function asText(values: unknown[]): (string | null)[] {
  return values.map((v) => (v === null || v === undefined ? null : String(v)));
}
