/**
 * Tables a `DROP TYPE ... CASCADE` or `DROP DOMAIN ... CASCADE` takes columns from: every column of the type (or of
 * an array of it, or of a domain over it) goes with it, in whatever table holds one, named by the statement or not.
 * They are backed up like the tables of a `DROP COLUMN`, so the revert brings those values back. A partition is not
 * listed: its partitioned table (backed up with every partition's rows) is.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { loadParser, type PgNode, parseSql } from '../lib/pg-parser.js';
import type { PlannedStatement } from './parse.js';

/** The tables of `schema` with a column of a type (or domain) the statements drop with CASCADE. */
export async function tablesOfDroppedTypes(
  db: Database,
  schema: string,
  statements: readonly PlannedStatement[],
): Promise<string[]> {
  await loadParser();
  const types: string[] = [];
  for (const s of statements) {
    if (s.operation.kind !== 'other' || s.operation.statement !== 'DropStmt') continue;
    for (const parsed of parseSql(s.sql)) {
      const node = parsed.node;
      if (parsed.type !== 'DropStmt' || node.behavior !== 'DROP_CASCADE') continue;
      if (node.removeType !== 'OBJECT_TYPE' && node.removeType !== 'OBJECT_DOMAIN') continue;
      for (const object of (node.objects as PgNode[] | undefined) ?? []) {
        const names = (((object.TypeName as PgNode | undefined)?.names as PgNode[] | undefined) ?? []).map(
          (n) => String((n.String as PgNode | undefined)?.sval ?? ''),
        );
        // Unqualified, it is the migration's schema's (the statements run with it as the search path).
        const type = names.at(-1);
        if (type) types.push(qualifiedName(names.length >= 2 ? (names.at(-2) ?? schema) : schema, type));
      }
    }
  }
  if (types.length === 0) return [];
  const { rows } = await db.query<{ name: string }>(
    `WITH RECURSIVE dropped(oid) AS (
        SELECT to_regtype(x)::oid FROM unnest($2::text[]) x WHERE to_regtype(x) IS NOT NULL
        UNION SELECT t.oid FROM pg_type t JOIN dropped d ON t.typbasetype = d.oid OR t.typelem = d.oid)
     SELECT DISTINCT c.relname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND a.attnum > 0 AND NOT a.attisdropped
        AND a.atttypid IN (SELECT oid FROM dropped)
      ORDER BY 1`,
    [quoteIdent(schema), types],
  );
  return rows.map((r) => r.name);
}
