/**
 * The dry run's scratch copy: the migration is tried on a copy of its schema in a schema of its own
 * (`flowstate_scratch_<id>`), inside a transaction that rolls back, so the dry run takes no lock on the target's
 * tables beyond ACCESS SHARE (the lock of a plain SELECT) while it reads them. The copy keeps every name the
 * snapshots compare (constraints and indexes are made from `pg_get_constraintdef` and `pg_get_indexdef`), so what
 * the dry run leaves, spoken of in the target's schema, is what the apply must leave.
 */
import { type Database, quoteIdent } from '../../src/db/index.js';
import { loadParser, scanSql } from '../lib/pg-parser.js';
import type { PlannedStatement } from './parse.js';
import type { Snapshot } from './snapshot.js';

/** A scratch schema name for a run: lower case, so it never needs quoting. */
export function scratchName(runId: string): string {
  return `flowstate_scratch_${runId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 30)}`;
}

interface Relation {
  name: string;
  kind: string;
  parent: string | null;
  bound: string | null;
  partitionKey: string | null;
  view: string | null;
}

/**
 * Copies the tables (with their rows), constraints, indexes and views of `live` into the new schema `scratch`, on
 * `tx`. Definitions are printed with `live` as the search path, so they name its objects unqualified and are
 * created under `scratch` as the search path.
 */
export async function copySchema(tx: Database, live: string, scratch: string): Promise<void> {
  await loadParser();
  // pg_get_indexdef always qualifies the table: every definition is requalified, or it would touch the target.
  const here = (sql: string) => requalify(sql, live, scratch);
  const { rows: saved } = await tx.query<{ path: string }>("SELECT current_setting('search_path') AS path");
  await tx.query("SELECT set_config('search_path', $1, true)", [quoteIdent(live)]);
  const relations = (
    await tx.query<Relation>(
      `SELECT c.relname AS name, c.relkind::text AS kind, p.relname AS parent,
              CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
              CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS "partitionKey",
              CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
         LEFT JOIN pg_class p ON p.oid = i.inhparent
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.oid`,
      [live],
    )
  ).rows;
  const constraints = (
    await tx.query<{ table: string; name: string; type: string; definition: string; inherited: boolean }>(
      `SELECT c.relname AS "table", k.conname AS name, k.contype::text AS type,
              pg_get_constraintdef(k.oid) AS definition, k.conparentid <> 0 AS inherited
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND k.contype IN ('c', 'p', 'u', 'x', 'f') ORDER BY k.contype = 'f', k.oid`,
      [live],
    )
  ).rows;
  const indexes = (
    await tx.query<{ definition: string }>(
      `SELECT pg_get_indexdef(x.indexrelid) AS definition
         FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = x.indexrelid)
        ORDER BY x.indexrelid`,
      [live],
    )
  ).rows;
  const columns = new Map<string, string[]>();
  for (const r of (
    await tx.query<{ table: string; name: string }>(
      `SELECT c.relname AS "table", a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`,
      [live],
    )
  ).rows) {
    columns.set(r.table, [...(columns.get(r.table) ?? []), quoteIdent(r.name)]);
  }
  await tx.query(`CREATE SCHEMA ${scratch}`);
  await tx.query("SELECT set_config('search_path', $1, true)", [scratch]);
  const from = (name: string) => `${quoteIdent(live)}.${quoteIdent(name)}`;
  for (const r of relations.filter((x) => x.kind === 'r' || x.kind === 'p')) {
    const name = quoteIdent(r.name);
    if (r.parent && r.bound) {
      await tx.query(`CREATE TABLE ${name} PARTITION OF ${quoteIdent(r.parent)} ${r.bound}`);
      continue;
    }
    const like = `LIKE ${from(r.name)} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED`;
    await tx.query(
      `CREATE TABLE ${name} (${like})${r.partitionKey ? ` PARTITION BY ${here(r.partitionKey)}` : ''}`,
    );
  }
  for (const r of relations.filter((x) => (x.kind === 'r' || x.kind === 'p') && x.parent === null)) {
    const list = (columns.get(r.name) ?? []).join(', ');
    if (list === '') continue;
    await tx.query(
      `INSERT INTO ${quoteIdent(r.name)} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM ${from(r.name)}`,
    );
  }
  // After the rows: a CHECK or a foreign key added NOT VALID on the target (rows may break it) stays NOT VALID.
  // Constraints a partition inherits from its parent come with the parent's; the others are added by name.
  for (const k of constraints.filter((x) => !x.inherited)) {
    await tx.query(
      `ALTER TABLE ${quoteIdent(k.table)} ADD CONSTRAINT ${quoteIdent(k.name)} ${here(k.definition)}`,
    );
  }
  for (const i of indexes) await tx.query(here(i.definition));
  for (const v of relations.filter((x) => x.view !== null)) {
    const kind = v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW';
    await tx.query(`CREATE ${kind} ${quoteIdent(v.name)} AS ${here(v.view ?? '')}`);
  }
  await tx.query("SELECT set_config('search_path', $1, true)", [saved[0]?.path ?? '']);
}

/**
 * `sql` with every `live.` qualifier turned into `scratch.`, read with PostgreSQL's scanner (names inside strings
 * and comments stay as they are). Call {@link loadParser} first.
 */
function requalify(sql: string, live: string, scratch: string): string {
  const tokens = scanSql(sql);
  let out = '';
  let at = 0;
  tokens.forEach((t, i) => {
    const unquoted = t.text.startsWith('"')
      ? t.text.slice(1, -1).replaceAll('""', '"')
      : t.text.toLowerCase();
    if (unquoted === live && tokens[i + 1]?.text === '.' && tokens[i + 1]?.start === t.end) {
      out += `${sql.slice(at, t.start)}${scratch}`;
      at = t.end;
    }
  });
  return out + sql.slice(at);
}

/** The statements with every `live.` qualifier turned into `scratch.`. */
export async function retarget(
  statements: readonly PlannedStatement[],
  live: string,
  scratch: string,
): Promise<PlannedStatement[]> {
  await loadParser();
  return statements.map((s) => ({ ...s, sql: requalify(s.sql, live, scratch) }));
}

/**
 * A snapshot of the scratch schema as it would read in the live one (names, types and definitions), taken on
 * `tx`: PostgreSQL leaves out the qualifier of a schema on the search path, and quotes one only when it must.
 */
export async function asLive(
  tx: Database,
  snapshot: Snapshot,
  live: string,
  scratch: string,
): Promise<Snapshot> {
  const { rows } = await tx.query<{ visible: boolean }>(
    'SELECT $1 = ANY (current_schemas(false)) AS visible',
    [live],
  );
  const qualified = `${/^[a-z_][a-z0-9_$]*$/.test(live) ? live : quoteIdent(live)}.`;
  const prefix = rows[0]?.visible ? '' : qualified;
  const map = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replaceAll(`${scratch}.`, prefix);
    if (Array.isArray(value)) return value.map(map);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, map(v)]));
    }
    return value;
  };
  const mapped = map(snapshot) as Snapshot;
  // pg_get_indexdef qualifies the table whatever the search path.
  for (const table of mapped.tables) {
    for (const index of table.indexes)
      index.definition = index.definition.replace(` ON ${prefix}`, ` ON ${qualified}`);
  }
  return { ...mapped, schema: live };
}
