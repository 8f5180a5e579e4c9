/**
 * Catalog introspection shared by the templates: one schema's tables, columns, constraints and indexes, read from
 * `pg_catalog` with the schema name as a parameter. The result is plain JSON (it travels between steps), and
 * {@link tableRef} is the only way templates turn a table name into SQL: checked against the catalog, then quoted.
 */
import { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { ConfigurationError } from '../../src/index.js';

/** A column as the catalog describes it. */
const CatalogColumnSchema = z.object({
  name: z.string(),
  type: z.string(),
  nullable: z.boolean(),
  default: z.string().nullable(),
  position: z.number().int(),
  /** The labels of an enum type, in order; null for other types. */
  enumValues: z.array(z.string()).nullable(),
  /** The sequence behind a serial or identity column, and its last value (null when never used or unreadable). */
  sequence: z
    .object({
      name: z.string(),
      lastValue: z.number().nullable(),
      max: z.number(),
      /** Whether this role may read it: `lastValue` is null for a role without SELECT on it, as for one never used. */
      readable: z.boolean().optional(),
    })
    .nullable()
    .optional(),
});

/** A primary key (`p`), unique (`u`), foreign key (`f`) or check (`c`) constraint. */
export const CatalogConstraintSchema = z.object({
  name: z.string(),
  kind: z.enum(['p', 'u', 'f', 'c']),
  columns: z.array(z.string()),
  /** `pg_get_constraintdef`, such as `CHECK ((stock >= 0)) NOT VALID`. */
  definition: z.string(),
  /** For a check constraint, its boolean expression as the catalog prints it; null otherwise. */
  expression: z.string().nullable(),
  /** False for a constraint added `NOT VALID`: rows older than it were never checked. */
  validated: z.boolean(),
  refSchema: z.string().nullable(),
  refTable: z.string().nullable(),
  refColumns: z.array(z.string()),
});

/** An index, with its usage count since statistics were last reset. */
export const CatalogIndexSchema = z.object({
  name: z.string(),
  /** Key columns (names as stored, unquoted) or expressions (as SQL), in order; INCLUDE columns left out. */
  columns: z.array(z.string()),
  definition: z.string(),
  method: z.string(),
  unique: z.boolean(),
  primary: z.boolean(),
  valid: z.boolean(),
  /** The partial index predicate, or null. */
  predicate: z.string().nullable(),
  /** Whether a constraint (primary key, unique, exclusion) uses this index. */
  backsConstraint: z.boolean(),
  scans: z.number(),
  sizeBytes: z.number(),
});

/** A table or view of the schema. */
export const CatalogTableSchema = z.object({
  name: z.string(),
  kind: z.enum(['table', 'view']),
  /** The planner's estimate (`reltuples`, summed over partitions), 0 when never analyzed. */
  estimatedRows: z.number(),
  /** With its indexes and TOAST; for a partitioned table, summed over its partitions. */
  sizeBytes: z.number(),
  /** A partitioned table (its rows live in its partitions). */
  partitioned: z.boolean().optional(),
  /** For a partition, the table it is a partition of: templates report the parent, not each partition. */
  partitionOf: z.string().nullable().optional(),
  /** Sequential plus index scans since statistics were reset (summed over partitions): how much usage data. */
  scans: z.number().optional(),
  /** Whether this role may SELECT from it, its schema's USAGE included (a read-only role often may read some only). */
  readable: z.boolean().optional(),
  columns: z.array(CatalogColumnSchema),
  constraints: z.array(CatalogConstraintSchema),
  indexes: z.array(CatalogIndexSchema),
});

/** One schema's catalog. Fields added since the first version are optional, so catalogs built by hand still fit. */
export const CatalogSchema = z.object({
  schema: z.string(),
  tables: z.array(CatalogTableSchema),
  /** When this database's statistics were last reset (ISO), or null if the server does not say. */
  statsSince: z.string().nullable().optional(),
});

/** A constraint of {@link Catalog}. */
export type CatalogConstraint = z.infer<typeof CatalogConstraintSchema>;
/** An index of {@link Catalog}. */
export type CatalogIndex = z.infer<typeof CatalogIndexSchema>;
/** A table or view of {@link Catalog}. */
export type CatalogTable = z.infer<typeof CatalogTableSchema>;
/** The tables, columns, constraints and indexes of one schema, as plain JSON. */
export type Catalog = z.infer<typeof CatalogSchema>;

// A partitioned table's own reltuples and size are empty: its partitions (pg_partition_tree) hold the rows.
const TABLES = `
  SELECT c.relname AS name, CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END AS kind,
         (SELECT COALESCE(sum(GREATEST(p.reltuples, 0)), 0)::bigint FROM pg_class p
          WHERE p.oid IN (SELECT relid FROM pg_partition_tree(c.oid)) OR p.oid = c.oid) AS "estimatedRows",
         CASE WHEN c.relkind = 'p'
              THEN (SELECT COALESCE(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(c.oid))::bigint
              ELSE pg_total_relation_size(c.oid) END AS "sizeBytes",
         c.relkind = 'p' AS partitioned,
         (SELECT pc.relname FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
          WHERE i.inhrelid = c.oid AND c.relispartition) AS "partitionOf",
         (SELECT COALESCE(sum(COALESCE(s.seq_scan, 0) + COALESCE(s.idx_scan, 0)), 0)::bigint
          FROM pg_stat_user_tables s WHERE s.relid = c.oid OR s.relid IN (SELECT relid FROM pg_partition_tree(c.oid)))
           AS scans,
         has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') AS readable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')
    -- An extension's own tables and views (pg_stat_statements, hypopg installed in the schema) are not the schema's.
    AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid
                     AND e.deptype = 'e')
  ORDER BY c.relname`;

const COLUMNS = `
  SELECT c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
         NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS "default", a.attnum::integer AS position,
         CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e
                                               WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS "enumValues",
         (SELECT json_build_object('name', sq.schemaname || '.' || sq.sequencename, 'lastValue', sq.last_value,
                                   'max', sq.max_value, 'readable', has_sequence_privilege(sc.oid, 'SELECT'))
          FROM pg_class sc JOIN pg_namespace sn ON sn.oid = sc.relnamespace
          JOIN pg_sequences sq ON sq.schemaname = sn.nspname AND sq.sequencename = sc.relname
          WHERE sc.relkind = 'S' AND (
                -- owned by the column (serial, identity), or only called by its default (nextval of a sequence
                -- made apart): either feeds the column
                EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.objid = sc.oid AND dp.refobjid = c.oid
                         AND dp.refobjsubid = a.attnum AND dp.deptype IN ('a', 'i'))
             OR EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.classid = 'pg_attrdef'::regclass AND dp.objid = d.oid
                         AND dp.refclassid = 'pg_class'::regclass AND dp.refobjid = sc.oid))
          LIMIT 1) AS sequence
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')
  ORDER BY c.relname, a.attnum`;

// Column names are cast to text: arrays of the \`name\` type are not parsed by every driver.
const CONSTRAINTS = `
  SELECT c.relname AS "table", k.conname AS name, k.contype::text AS kind, k.convalidated AS validated,
         pg_get_constraintdef(k.oid) AS definition,
         CASE WHEN k.contype = 'c' THEN pg_get_expr(k.conbin, k.conrelid) END AS expression,
         ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord) AS columns,
         rn.nspname AS "refSchema", rc.relname AS "refTable",
         ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord) AS "refColumns"
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class rc ON rc.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
  WHERE n.nspname = $1 AND k.contype IN ('p', 'u', 'f', 'c') AND k.conparentid = 0
  ORDER BY c.relname, k.conname`;

const INDEXES = `
  SELECT t.relname AS "table", i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, am.amname AS method,
         x.indisunique AS unique, x.indisprimary AS primary, x.indisvalid AS valid,
         pg_get_expr(x.indpred, x.indrelid) AS predicate,
         ARRAY(SELECT CASE WHEN x.indkey[k - 1] = 0 THEN pg_get_indexdef(x.indexrelid, k, true)
                           ELSE (SELECT a.attname::text FROM pg_attribute a
                                 WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k - 1]) END
               FROM generate_series(1, x.indnkeyatts::integer) k ORDER BY k) AS columns,
         EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
           AS "backsConstraint",
         (SELECT COALESCE(sum(s.idx_scan), 0)::bigint FROM pg_stat_user_indexes s
          WHERE s.indexrelid = x.indexrelid OR s.indexrelid IN (SELECT relid FROM pg_partition_tree(x.indexrelid)))
           AS scans,
         CASE WHEN i.relkind = 'I'
              THEN (SELECT COALESCE(sum(pg_relation_size(relid)), 0) FROM pg_partition_tree(x.indexrelid))::bigint
              ELSE pg_relation_size(x.indexrelid) END AS "sizeBytes"
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam
  WHERE n.nspname = $1
  ORDER BY t.relname, i.relname`;

// Never reset: the counters go back to the cluster's creation at best, so the server's start is a safe lower bound.
const STATS_SINCE = `
  SELECT to_char(COALESCE(stats_reset, pg_postmaster_start_time()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    AS since
  FROM pg_stat_database WHERE datname = current_database()`;

/**
 * The schema a template works on when its input names none: `public` when it has tables, else the user schema
 * with the most tables (a database kept in its own schema, such as `sales`), else `public`. Tables an extension
 * owns are not counted.
 */
export async function defaultSchema(db: Database): Promise<string> {
  const { rows } = await db.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       -- An extension's own tables (PostGIS puts spatial_ref_sys in public) do not make a schema the user's.
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid
                        AND e.deptype = 'e')
     GROUP BY n.nspname ORDER BY (n.nspname = 'public') DESC, count(*) DESC, n.nspname LIMIT 1`,
  );
  return rows[0]?.schema ?? 'public';
}

/**
 * Reads one schema's catalog. Throws a `ConfigurationError` when the schema does not exist, so a typo is not
 * reported as an empty, healthy schema.
 */
export async function introspect(db: Database, schema = 'public'): Promise<Catalog> {
  const exists = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount === 0) throw new ConfigurationError(`Schema '${schema}' does not exist`);
  const [tables, columns, constraints, indexes, stats] = await Promise.all([
    bounded<Record<string, unknown>>(db, schema, TABLES, [schema]),
    bounded<Record<string, unknown> & { table: string }>(db, schema, COLUMNS, [schema]),
    bounded<Record<string, unknown> & { table: string }>(db, schema, CONSTRAINTS, [schema]),
    bounded<Record<string, unknown> & { table: string }>(db, schema, INDEXES, [schema]),
    bounded<{ since: string | null }>(db, schema, STATS_SINCE, []),
  ]);
  const of = <R extends { table: string }>(rows: R[], table: unknown) =>
    rows.filter((r) => r.table === table).map(({ table: _, ...rest }) => rest);
  return CatalogSchema.parse({
    schema,
    statsSince: stats.rows[0]?.since ?? null,
    tables: tables.rows.map((t) => ({
      ...t,
      columns: of(columns.rows, t.name),
      constraints: of(constraints.rows, t.name),
      indexes: of(indexes.rows, t.name),
    })),
  });
}

/** How long a catalog query may run, and wait for a lock, before it gives up. */
const CATALOG_LIMITS = { statementTimeoutMs: 60_000, lockTimeoutMs: 2_000 } as const;

/** Relations of the schema another session holds (or waits for) in a mode that blocks readers' catalog functions. */
const LOCKERS = `
  SELECT c.relname AS relation, l.mode, l.pid, l.granted, a.state, a.query_start::text AS since
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE n.nspname = $1 AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() AND l.mode = 'AccessExclusiveLock'
  ORDER BY l.granted DESC, c.relname LIMIT 5`;

/**
 * A catalog query in a READ ONLY transaction with a statement timeout and a lock timeout. Reading sizes, index
 * definitions and default expressions takes an ACCESS SHARE lock on each relation: behind an ALTER TABLE, a VACUUM
 * FULL or a REINDEX it would wait as long as they hold theirs. It gives up after {@link CATALOG_LIMITS} instead,
 * naming who holds the lock. `db` is a database, not a transaction.
 */
async function bounded<R>(db: Database, schema: string, sql: string, params: readonly unknown[]) {
  try {
    return await db.transaction(
      async (tx) => {
        await tx.query("SELECT set_config('lock_timeout', $1, true)", [`${CATALOG_LIMITS.lockTimeoutMs}ms`]);
        return tx.query<R>(sql, params);
      },
      { readOnly: true, statementTimeoutMs: CATALOG_LIMITS.statementTimeoutMs },
    );
  } catch (error) {
    if ((error as { code?: unknown }).code !== '55P03') throw error;
    const { rows } = await db
      .query<{
        relation: string;
        mode: string;
        pid: number;
        granted: boolean;
        state: string | null;
        since: string | null;
      }>(LOCKERS, [schema])
      .catch(() => ({ rows: [] }));
    const who = rows
      .map(
        (r) =>
          `${r.relation} (${r.mode} ${r.granted ? 'held' : 'awaited'} by process ${r.pid}${r.state ? `, ${r.state}` : ''}${r.since ? ` since ${r.since}` : ''})`,
      )
      .join('; ');
    throw new Error(
      `The catalog of schema '${schema}' cannot be read now (${(error as Error).message}): a relation is locked by another session${who ? `: ${who}` : ''}. Try again once it is released`,
    );
  }
}

/** The table named `name` in the catalog; throws a `ConfigurationError` naming the tables that do exist. */
export function findTable(catalog: Catalog, name: string): CatalogTable {
  const table = catalog.tables.find((t) => t.name === name);
  if (!table) {
    const known = catalog.tables.map((t) => t.name).join(', ');
    throw new ConfigurationError(
      `No table or view '${name}' in schema '${catalog.schema}' (it has: ${known})`,
    );
  }
  return table;
}

/** `"schema"."table"` for SQL, for a table that exists in the catalog (checked first, then quoted). */
export function tableRef(catalog: Catalog, name: string): string {
  return qualifiedName(catalog.schema, findTable(catalog, name).name);
}

/** A quoted column of a table, checked against the catalog. */
export function columnRef(table: CatalogTable, column: string): string {
  if (!table.columns.some((c) => c.name === column)) {
    throw new ConfigurationError(`Table '${table.name}' has no column '${column}'`);
  }
  return quoteIdent(column);
}
