/**
 * Columns of the dry run's copy: each table's own columns as a `CREATE TABLE` declares them (an inheritance child's
 * inherited ones stay inherited, or a parent's `DROP COLUMN` or `ALTER TYPE` would not reach them in the copy as it
 * does on the target), and what `PARTITION OF` does not get right by itself: the defaults and NOT NULL a partition or
 * child sets on an inherited column itself, and the names of a partition's copies of its parent's constraints
 * (without them, every migration on such a schema failed its verification).
 */
import { type Database, quoteIdent } from '../../src/db/index.js';
import { identitySequenceOf } from './snapshot-queries.js';
import { type IdentitySequence, identityOptions } from './snapshot-sequences.js';

interface ColumnRow {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  generated: string;
  identity: string;
  collation: string | null;
  identitySequence: IdentitySequence | string | null;
  local: boolean;
}

/**
 * The column definitions of each table of `live`, by table, in column order, as in a `CREATE TABLE` (`"note" text
 * COLLATE "C" DEFAULT 'x' NOT NULL`, an identity with its sequence options), each saying whether the table declares
 * it itself (`attislocal`; an inherited one is not, a partition's never). Types and expressions name `live`'s objects
 * as they print with `live` on the search path: made with the copy first on it, they name the copy's types and
 * sequences (`LIKE` kept the target's, bound by oid).
 */
export async function columnDefinitions(
  tx: Database,
  live: string,
): Promise<Map<string, { definition: string; local: boolean }[]>> {
  const { rows } = await tx.query<ColumnRow>(
    `SELECT c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS "default",
            a.attgenerated::text AS generated, a.attidentity::text AS identity,
            CASE WHEN a.attidentity <> '' THEN ${identitySequenceOf('c.oid', 'a.attnum')} END AS "identitySequence",
            CASE WHEN a.attcollation <> t.typcollation
                 THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation,
            a.attislocal AS local
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [live],
  );
  const out = new Map<string, { definition: string; local: boolean }[]>();
  for (const c of rows) {
    const parts = [quoteIdent(c.name), c.type];
    if (c.collation) parts.push(`COLLATE ${c.collation}`);
    // Stored, or virtual (PostgreSQL 18).
    if (c.generated !== '' && c.default !== null)
      parts.push(`GENERATED ALWAYS AS (${c.default}) ${c.generated === 'v' ? 'VIRTUAL' : 'STORED'}`);
    else if (c.identity !== '') {
      // A json column: node-postgres and PGlite parse it; a driver that does not gives its text.
      const q = typeof c.identitySequence === 'string' ? JSON.parse(c.identitySequence) : c.identitySequence;
      const options = q ? ` (${identityOptions(q)})` : '';
      parts.push(`GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${options}`);
    } else if (c.default !== null) parts.push(`DEFAULT ${c.default}`);
    if (c.notNull) parts.push('NOT NULL');
    out.set(c.table, [...(out.get(c.table) ?? []), { definition: parts.join(' '), local: c.local }]);
  }
  return out;
}

/**
 * `ALTER TABLE ONLY` statements, by table, giving each inherited column of `live` (a partition's, an inheritance
 * child's) the default and NOT NULL it has there where they differ from its first parent's: what the copy's column
 * starts with if the table is made after its parent got its own (run each table's right after making it).
 * Unqualified table names: run with the copy first on the search path.
 */
export async function ownColumnSettings(tx: Database, live: string): Promise<Map<string, string[]>> {
  const { rows } = await tx.query<{
    table: string;
    name: string;
    default: string | null;
    setNotNull: boolean;
    defaultDiffers: boolean;
  }>(
    `SELECT c.relname AS "table", a.attname AS name, pg_get_expr(d.adbin, d.adrelid) AS "default",
            a.attnotnull AND NOT pa.attnotnull AS "setNotNull",
            pg_get_expr(d.adbin, d.adrelid) IS DISTINCT FROM pg_get_expr(pd.adbin, pd.adrelid) AS "defaultDiffers"
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhseqno = 1
       JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname AND NOT pa.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
       LEFT JOIN pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        AND NOT a.attislocal AND a.attgenerated = '' AND a.attidentity = ''
        AND (pg_get_expr(d.adbin, d.adrelid) IS DISTINCT FROM pg_get_expr(pd.adbin, pd.adrelid)
             OR (a.attnotnull AND NOT pa.attnotnull))
      ORDER BY c.relname, a.attnum`,
    [live],
  );
  const out = new Map<string, string[]>();
  for (const c of rows) {
    const column = `ALTER TABLE ONLY ${quoteIdent(c.table)} ALTER COLUMN ${quoteIdent(c.name)}`;
    const statements = out.get(c.table) ?? [];
    out.set(c.table, statements);
    // NOT NULL without ONLY: on a partitioned partition it must reach its partitions (which have it on the target).
    if (c.setNotNull)
      statements.push(`ALTER TABLE ${quoteIdent(c.table)} ALTER COLUMN ${quoteIdent(c.name)} SET NOT NULL`);
    if (c.defaultDiffers)
      statements.push(c.default === null ? `${column} DROP DEFAULT` : `${column} SET DEFAULT ${c.default}`);
  }
  return out;
}

/**
 * `ALTER TABLE ... RENAME CONSTRAINT` statements giving the copy's partition constraints (copies of a parent's key or
 * foreign key, `conparentid`) the names they have in `live` where PostgreSQL named them otherwise.
 *
 * A constraint is matched on its table, the table it references and the constraint it was copied from at the top of
 * its tree (named the same in both: the copy adds it by name). Not on its direct parent alone: a foreign key to a
 * partitioned table has one copy per partition it references, all on the referencing table with the same parent,
 * and matching on that renamed one over another (`..._fkey1 already exists`). Every rename goes through a temporary
 * name first, so names the copy and the target give the other way round (`_fkey1` for one partition here, for the
 * other there) never collide.
 */
export async function inheritedConstraintRenames(
  tx: Database,
  live: string,
  scratch: string,
): Promise<string[]> {
  // The top of each constraint's tree (conparentid = 0), followed down from the schema's own constraints.
  const query = `WITH RECURSIVE tree AS (
         SELECT k.oid, k.oid AS top FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND k.conparentid = 0
         UNION ALL
         SELECT k.oid, tree.top FROM pg_constraint k JOIN tree ON k.conparentid = tree.oid)
     SELECT c.relname AS "table", k.conname AS name, r.relname AS "references", tk.conname AS top,
            tc.relname AS "topTable"
       FROM tree JOIN pg_constraint k ON k.oid = tree.oid JOIN pg_class c ON c.oid = k.conrelid
       LEFT JOIN pg_class r ON r.oid = k.confrelid
       JOIN pg_constraint tk ON tk.oid = tree.top JOIN pg_class tc ON tc.oid = tk.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.conparentid <> 0 AND n.nspname = $1`;
  type Row = { table: string; name: string; references: string | null; top: string; topTable: string };
  const key = (r: Row) => JSON.stringify([r.table, r.references, r.topTable, r.top]);
  const copied = new Map((await tx.query<Row>(query, [scratch])).rows.map((r) => [key(r), r.name]));
  const renames: { table: string; from: string; to: string }[] = [];
  for (const r of (await tx.query<Row>(query, [live])).rows) {
    const name = copied.get(key(r));
    if (name !== undefined && name !== r.name) renames.push({ table: r.table, from: name, to: r.name });
  }
  const rename = (table: string, from: string, to: string) =>
    `ALTER TABLE ${quoteIdent(table)} RENAME CONSTRAINT ${quoteIdent(from)} TO ${quoteIdent(to)}`;
  // A key's name is its index's, unique in the schema: the temporary names are unique in it too.
  const temporary = (i: number) => `flowstate_renaming_${i}`;
  return [
    ...renames.map((r, i) => rename(r.table, r.from, temporary(i))),
    ...renames.map((r, i) => rename(r.table, temporary(i), r.to)),
  ];
}
