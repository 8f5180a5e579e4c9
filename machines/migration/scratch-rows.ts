/**
 * Which tables of the dry run's scratch copy get their rows. Every table is copied (the schema must be whole), but
 * rows only where the migration's outcome can depend on them: a schema with one large table the migration never
 * names should not have it copied row by row inside the dry run's statement timeout.
 */
import type { Database } from '../../src/db/index.js';
import { loadParser, parseSql, rangeVar } from '../lib/pg-parser.js';
import type { PlannedStatement } from './parse.js';

/**
 * Every table reference under a parse tree: a `RangeVar`, wrapped as a node (`{ RangeVar: {...} }`) where a field
 * may hold any node, or bare where the field is always one (`IndexStmt.relation`, `Constraint.pktable`).
 */
function tableReferences(root: unknown): { schema: string | null; name: string }[] {
  const out: { schema: string | null; name: string }[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const name = 'relname' in value ? rangeVar(value) : undefined;
    if (name) out.push(name);
    for (const field of Object.values(value)) visit(field);
  };
  visit(root);
  return out;
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

/**
 * The tables of `live` whose rows the dry run copies, or `undefined` for all of them:
 * - every table a statement names anywhere (its target, a `REFERENCES` target, a subquery's `FROM`);
 * - the tables those reference by foreign key, transitively (a new foreign key, an insert or an update is checked
 *   against them, and so are the copy's own foreign keys, added after its rows);
 * - with an `UPDATE`, `DELETE` or `TRUNCATE`, the tables that reference its target, transitively (cascades,
 *   `RESTRICT`);
 * - the whole partition or inheritance tree of each (a parent's rows are its partitions').
 * The rest is copied empty: the verification counts only the rows of tables the migration names.
 */
export async function tablesWithRows(
  db: Database,
  live: string,
  statements: readonly PlannedStatement[],
): Promise<ReadonlySet<string> | undefined> {
  await loadParser();
  const named = new Set<string>();
  for (const statement of statements) {
    for (const parsed of parseSql(statement.sql)) {
      if (OPAQUE.has(parsed.type)) return undefined;
      for (const name of tableReferences(parsed.node)) {
        // Unqualified names resolve in the migration's schema: it runs with that schema first on the search path.
        if (name.schema === null || name.schema === live) named.add(name.name);
      }
    }
  }
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
  // The tables whose rows an UPDATE, DELETE or TRUNCATE changes, and those referencing them, transitively.
  const changed = new Set<string>();
  for (const { operation: op } of statements) {
    const targets =
      op.kind === 'update' || op.kind === 'delete' ? [op.table] : op.kind === 'truncate' ? op.tables : [];
    for (const t of targets) if (t.schema === null || t.schema === live) changed.add(t.name);
  }
  grow(changed, [...family, ...references.map((r): [string, string] => [r.to, r.from])]);
  // Then along foreign keys, transitively: the copy's foreign keys are added after its rows, and check them.
  const out = new Set([...named, ...changed]);
  grow(out, [...family, ...references.map((r): [string, string] => [r.from, r.to])]);
  return out;
}
