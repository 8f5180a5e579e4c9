/**
 * Which tables of the dry run's scratch copy get their rows. Every table is copied (the schema must be whole), but
 * rows only where the migration's outcome can depend on them: a schema with one large table the migration never
 * names should not have it copied row by row inside the dry run's statement timeout.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { loadParser, parseSql, rangeVar, strings, tableReferences, walk } from '../lib/pg-parser.js';
import type { PlannedStatement } from './parse.js';

/**
 * The tables of `live` with a column of one of the `domains` (qualified names), of an array of one, of a domain over
 * one or of a composite type holding one: an `ALTER DOMAIN` that adds a CHECK or NOT NULL checks their rows.
 */
async function tablesOfDomains(db: Database, live: string, domains: readonly string[]): Promise<string[]> {
  if (domains.length === 0) return [];
  const { rows } = await db.query<{ name: string }>(
    `WITH RECURSIVE used(oid) AS (
        SELECT to_regtype(x)::oid FROM unnest($2::text[]) x WHERE to_regtype(x) IS NOT NULL
        UNION SELECT t.oid FROM used u JOIN pg_type t ON t.typbasetype = u.oid OR t.typelem = u.oid
          OR t.typrelid IN (SELECT a.attrelid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                             WHERE c.relkind = 'c' AND a.atttypid = u.oid AND NOT a.attisdropped))
     SELECT DISTINCT c.relname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        AND a.atttypid IN (SELECT oid FROM used)`,
    [quoteIdent(live), [...domains]],
  );
  return rows.map((r) => r.name);
}

/** Adds to `set` every table reachable from it along `edges` (`[from, to]`). */
function grow(set: Set<string>, edges: readonly [string, string][]): void {
  let added = true;
  while (added) {
    added = false;
    for (const [from, to] of edges) {
      if (set.has(from) && !set.has(to)) {
        set.add(to);
        added = true;
      }
    }
  }
}

/** Statements whose effects the parse tree does not show (a procedure, an anonymous block): every row is copied. */
const OPAQUE = new Set(['DoStmt', 'CallStmt']);
/** Statements that write rows, wherever they are in a tree (a CTE's `DELETE`, `MERGE`): their target is changed. */
const WRITES = new Set(['DeleteStmt', 'UpdateStmt', 'MergeStmt', 'InsertStmt']);

/**
 * The functions of the database that are not PostgreSQL's own nor an extension's, by name: they may read any table,
 * so a migration that calls one, or a table whose constraints, defaults or indexes call one, needs every row.
 */
const USER_FUNCTIONS = `
  SELECT DISTINCT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')`;

/** The tables of `live` with a constraint, default, generated column or index that calls such a function. */
const TABLES_CALLING_USER_FUNCTIONS = `
  SELECT DISTINCT c.relname AS name
  FROM pg_depend d
  JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
  JOIN pg_namespace pn ON pn.oid = p.pronamespace
  LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
  LEFT JOIN pg_attrdef a ON d.classid = 'pg_attrdef'::regclass AND a.oid = d.objid
  LEFT JOIN pg_index x ON d.classid = 'pg_class'::regclass AND x.indexrelid = d.objid
  JOIN pg_class c ON c.oid = COALESCE(k.conrelid, a.adrelid, x.indrelid)
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND pn.nspname NOT IN ('pg_catalog', 'information_schema')
    AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')`;

/**
 * The tables of `live` whose rows the dry run copies, or `undefined` for all of them:
 * - every table a statement names anywhere (its target, a `REFERENCES` target, a subquery's `FROM`, a dropped or
 *   truncated table);
 * - the tables those reference by foreign key, transitively (a new foreign key, an insert or an update is checked
 *   against them, and so are the copy's own foreign keys, added after its rows);
 * - for every table a statement writes or retypes (an `UPDATE`, `DELETE`, `MERGE`, `INSERT ... ON CONFLICT`,
 *   `TRUNCATE`, `ALTER ... TYPE`, in a CTE too), the tables that reference it, transitively (cascades, `RESTRICT`,
 *   foreign keys checked again);
 * - the tables with a column of a domain an `ALTER DOMAIN` names (its new CHECK or NOT NULL checks their rows);
 * - the whole partition or inheritance tree of each (a parent's rows are its partitions').
 * Every row is copied when what reads rows cannot be seen from the statements: a `DO` block or `CALL`, a view or
 * materialized view named (its tables are not), a call to a function of the database's own (not PostgreSQL's or an
 * extension's), or a table whose rows are copied calling one in a constraint, default or index.
 * The rest is copied empty: the verification counts only the rows of tables the migration names.
 */
export async function tablesWithRows(
  db: Database,
  live: string,
  statements: readonly PlannedStatement[],
): Promise<ReadonlySet<string> | undefined> {
  await loadParser();
  const here = (name: { schema: string | null }) => name.schema === null || name.schema === live;
  const named = new Set<string>();
  const changed = new Set<string>();
  const called = new Set<string>();
  // Domains whose columns a statement checks (`ALTER DOMAIN ... ADD CONSTRAINT`, `SET NOT NULL`, `VALIDATE`).
  const checked: string[] = [];
  for (const statement of statements) {
    const { operation: op } = statement;
    if (op.kind === 'drop-table' || op.kind === 'truncate') {
      for (const t of op.tables.filter(here)) named.add(t.name);
      if (op.kind === 'truncate') for (const t of op.tables.filter(here)) changed.add(t.name);
    }
    if (op.kind === 'alter-table' && here(op.table) && op.actions.some((a) => a.kind === 'alter-type'))
      changed.add(op.table.name);
    for (const parsed of parseSql(statement.sql)) {
      if (OPAQUE.has(parsed.type)) return undefined;
      if (parsed.type === 'AlterDomainStmt') {
        const names = strings(parsed.node.typeName);
        const domain = names.at(-1);
        if (domain && (names.length === 1 || names.at(-2) === live))
          checked.push(qualifiedName(live, domain));
      }
      // Unqualified names resolve in the migration's schema: it runs with that schema first on the search path.
      for (const name of tableReferences(parsed.node)) if (here(name)) named.add(name.name);
      walk({ [parsed.type]: parsed.node }, (type, node) => {
        if (WRITES.has(type) && (type !== 'InsertStmt' || node.onConflictClause)) {
          const target = rangeVar(node.relation);
          if (target && here(target)) changed.add(target.name);
        }
        if (type === 'FuncCall') {
          const name = strings(node.funcname).at(-1);
          if (name) called.add(name.toLowerCase());
        }
      });
    }
  }
  for (const table of await tablesOfDomains(db, live, checked)) named.add(table);
  const { rows: functions } = await db.query<{ name: string }>(USER_FUNCTIONS);
  if (functions.some((f) => called.has(f.name))) return undefined;
  const { rows: relations } = await db.query<{ name: string; kind: string }>(
    `SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')`,
    [live],
  );
  if (relations.some((r) => named.has(r.name))) return undefined;
  const { rows: references } = await db.query<{ from: string; to: string }>(
    `SELECT c.relname AS "from", r.relname AS "to"
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND n.nspname = $1 AND r.relnamespace = c.relnamespace`,
    [live],
  );
  const { rows: families } = await db.query<{ child: string; parent: string }>(
    `SELECT c.relname AS child, p.relname AS parent
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND p.relnamespace = c.relnamespace AND c.relkind IN ('r', 'p')`,
    [live],
  );
  const family: [string, string][] = families.flatMap((f) => [
    [f.child, f.parent] as [string, string],
    [f.parent, f.child] as [string, string],
  ]);
  // The tables whose rows a statement changes, and those referencing them, transitively.
  grow(changed, [...family, ...references.map((r): [string, string] => [r.to, r.from])]);
  // Then along foreign keys, transitively: the copy's foreign keys are added after its rows, and check them.
  const out = new Set([...named, ...changed]);
  grow(out, [...family, ...references.map((r): [string, string] => [r.from, r.to])]);
  const { rows: calling } = await db.query<{ name: string }>(TABLES_CALLING_USER_FUNCTIONS, [live]);
  if (calling.some((t) => out.has(t.name))) return undefined;
  return out;
}
