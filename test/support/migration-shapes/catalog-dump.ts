/**
 * A dump of everything a dry run must leave as it was: the rows of the catalogs that describe the user's objects
 * (oid 16384 and up: schemas, relations, columns, defaults, types and enum labels, constraints, indexes, dependencies,
 * functions, sequences' options, rules, triggers, policies, inheritance, comments, ranges, casts, collations), minus
 * the planner's statistics and freeze horizons that change on their own, the position of every sequence, and a hash
 * of every table's rows. Equal dumps before and after: the dry run changed nothing (a rolled-back transaction leaves
 * no row behind, but `setval` and `nextval` are not rolled back, and a statement that reached the database's own
 * objects instead of the copy would show here if anything of it stayed).
 */
import type { Database } from '../../../src/db/port.js';

/** Each catalog, the rows of the user's objects. */
const CATALOGS: Record<string, string> = {
  pg_namespace: 'oid >= 16384',
  pg_class: 'oid >= 16384',
  pg_attribute: 'attrelid >= 16384',
  pg_attrdef: 'oid >= 16384',
  pg_type: 'oid >= 16384',
  pg_enum: 'oid >= 16384',
  pg_constraint: 'oid >= 16384',
  pg_index: 'indexrelid >= 16384',
  pg_depend: 'objid >= 16384 OR refobjid >= 16384',
  pg_proc: 'oid >= 16384',
  pg_sequence: 'seqrelid >= 16384',
  pg_rewrite: 'oid >= 16384',
  pg_trigger: 'oid >= 16384',
  pg_policy: 'oid >= 16384',
  pg_inherits: 'inhrelid >= 16384',
  pg_description: 'objoid >= 16384',
  pg_range: 'rngtypid >= 16384',
  pg_cast: 'oid >= 16384',
  pg_collation: 'oid >= 16384',
};

/** Columns that change without anything being done to the object (statistics, vacuum's horizons). */
const VOLATILE = [
  'relpages',
  'reltuples',
  'relallvisible',
  'relallfrozen',
  'relfrozenxid',
  'relminmxid',
  'attmissingval',
];

/** The dump: each catalog's rows (as JSON, sorted), then the sequences' positions and the tables' rows. */
export async function catalogDump(db: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [catalog, where] of Object.entries(CATALOGS)) {
    const { rows } = await db.query<{ row: string }>(
      `SELECT (to_jsonb(x) - $1::text[])::text AS row FROM pg_catalog.${catalog} x WHERE ${where} ORDER BY 1`,
      [VOLATILE],
    );
    out[catalog] = rows.map((r) => r.row);
  }
  const { rows: relations } = await db.query<{ name: string; kind: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`,
  );
  const contents: string[] = [];
  for (const r of relations) {
    const { rows } = await db.query<{ value: string }>(
      r.kind === 'S'
        ? `SELECT last_value::text || ' ' || is_called::text AS value FROM ${r.name}`
        : `SELECT count(*)::text || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') AS value FROM ONLY ${r.name} t`,
    );
    contents.push(`${r.name}: ${rows[0]?.value}`);
  }
  out.contents = contents;
  return out;
}
