/**
 * The dry run's scratch copy: the migration is tried on a copy of its schema in a schema of its own
 * (`flowstate_scratch_<id>`), inside a transaction that rolls back, so the dry run takes no lock on the target's
 * tables beyond ACCESS SHARE (the lock of a plain SELECT) while it reads them. The copy keeps every name the
 * snapshots compare (constraints and indexes are made from `pg_get_constraintdef` and `pg_get_indexdef`), so what
 * the dry run leaves, spoken of in the target's schema, is what the apply must leave.
 */
import { type Database, quoteIdent } from '../../src/db/index.js';
import { loadParser, parseSql, scanSql } from '../lib/pg-parser.js';
import type { PlannedStatement } from './parse.js';
import { columnDefinitions, inheritedConstraintRenames, ownColumnSettings } from './scratch-columns.js';
import { uncheckOrphanUpdates } from './scratch-orphans.js';
import { copyRowSecurity, readRowSecurity } from './scratch-security.js';
import {
  createSequenceCopies,
  finishSequenceCopies,
  readSequenceCopy,
  retargetSequenceLiterals,
} from './scratch-sequences.js';
import { copiedColumns, createTypeCopies, finishTypeCopies } from './scratch-types-make.js';
import { readTypeCopy } from './scratch-types-read.js';
import type { Snapshot } from './snapshot.js';
import type { Domain } from './snapshot-domains.js';
import type { Enum } from './snapshot-enums.js';
import { extensionMember } from './snapshot-queries.js';

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
  /** The partitioned table it is a partition of, when that table is in the same schema (else copied as a table). */
  parent: string | null;
  /** The tables it inherits from (INHERITS, not partitions) in the same schema, in order; null when none. */
  inherits: string[] | null;
  bound: string | null;
  partitionKey: string | null;
  view: string | null;
}

/**
 * Copies the tables, constraints, indexes, views, sequences and enum, composite and domain types of `live` into the
 * new schema `scratch`, on `tx`, with the rows of the tables in `rowsOf` (of every table when it is undefined; see
 * `tablesWithRows`). Definitions are printed with `live` as the search path, so they name its objects unqualified and
 * are created under `scratch` as the search path. Returns the schema's types the copy has not, with why
 * (`scratch-types-*.ts`).
 */
export async function copySchema(
  tx: Database,
  live: string,
  scratch: string,
  rowsOf?: ReadonlySet<string>,
): Promise<{ uncopiedTypes: ReadonlyMap<string, string> }> {
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
              CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view,
              (SELECT array_agg(ip.relname::text ORDER BY ii.inhseqno) FROM pg_inherits ii
                 JOIN pg_class ip ON ip.oid = ii.inhparent
                WHERE ii.inhrelid = c.oid AND NOT c.relispartition AND ip.relnamespace = c.relnamespace) AS inherits
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
         LEFT JOIN pg_class p ON p.oid = i.inhparent AND p.relnamespace = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT ${extensionMember('c.oid')}
        ORDER BY c.oid`,
      [live],
    )
  ).rows;
  const constraints = (
    await tx.query<{ table: string; name: string; type: string; definition: string; inherited: boolean }>(
      `SELECT c.relname AS "table", k.conname AS name, k.contype::text AS type,
              pg_get_constraintdef(k.oid) AS definition, k.conparentid <> 0 OR NOT k.conislocal AS inherited
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND k.contype IN ('c', 'p', 'u', 'x', 'f') AND NOT ${extensionMember('c.oid')}
        ORDER BY k.contype = 'f', k.oid`,
      [live],
    )
  ).rows;
  // Every index no constraint owns, a partition's too, with the index of the parent it is attached to: an index on a
  // partitioned table is copied as it prints (ON ONLY) and its partitions' indexes attached to it by name, so the
  // copy has the same indexes, names included, as the target.
  const indexes = (
    await tx.query<{ name: string; definition: string; parent: string | null; kind: string }>(
      `SELECT ic.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, t.relkind::text AS kind,
              (SELECT pi.relname FROM pg_inherits i JOIN pg_class pi ON pi.oid = i.inhparent
                WHERE i.inhrelid = x.indexrelid AND pi.relnamespace = ic.relnamespace) AS parent
         FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
          AND NOT ${extensionMember('t.oid')} AND NOT ${extensionMember('x.indexrelid')}
        ORDER BY x.indexrelid`,
      [live],
    )
  ).rows;
  const columnsOf = await columnDefinitions(tx, live);
  const ownSettings = await ownColumnSettings(tx, live);
  const rowSecurity = await readRowSecurity(tx, live);
  const sequences = await readSequenceCopy(tx, live);
  const types = await readTypeCopy(tx, live, here);
  await tx.query(`CREATE SCHEMA ${scratch}`);
  // New tables go to the scratch schema, and names a definition leaves unqualified are found there first (the
  // copied tables, sequences and types), then in the live schema: its functions (a view's, a CHECK's) and the types
  // not copied are used as they are.
  await tx.query("SELECT set_config('search_path', $1, true)", [`${scratch}, ${quoteIdent(live)}`]);
  // Sequences are copied, where they stand: nextval and setval are not rolled back, so the dry run must never reach
  // the target's (`scratch-sequences.ts`). Before the types (a domain's default may call one) and the tables, whose
  // defaults call them.
  await createSequenceCopies(tx, sequences);
  // Types before the tables, whose columns are of them (`scratch-types-*.ts`).
  const uncopiedTypes = await createTypeCopies(tx, types, scratch);
  const from = (name: string) => `${quoteIdent(live)}.${quoteIdent(name)}`;
  for (const r of parentsFirst(relations.filter((x) => x.kind === 'r' || x.kind === 'p'))) {
    const name = quoteIdent(r.name);
    if (r.parent && r.bound) {
      // A partition that is partitioned in turn keeps its own key, or its partitions could not attach. Its parent
      // named in the scratch schema, never found by the search path: it must not attach to the live table.
      const key = r.partitionKey ? ` PARTITION BY ${here(r.partitionKey)}` : '';
      await tx.query(`CREATE TABLE ${name} PARTITION OF ${scratch}.${quoteIdent(r.parent)} ${r.bound}${key}`);
      for (const sql of ownSettings.get(r.name) ?? []) await tx.query(here(sql));
      continue;
    }
    // Its columns as declared on the target (their types, sequences in defaults and identities' options): they name
    // the copy's types and sequences. An inheritance child inherits in the copy too, declaring only the columns it
    // declares on the target (the others stay inherited), so that what the migration does to a parent reaches it as
    // on the target; a partition of a table of another schema (not copied) is a table with all of its columns.
    const inherits = r.inherits?.length
      ? ` INHERITS (${r.inherits.map((p) => `${scratch}.${quoteIdent(p)}`).join(', ')})`
      : '';
    const columns = (columnsOf.get(r.name) ?? [])
      .filter((c) => c.local || !inherits)
      .map((c) => here(c.definition))
      .join(', ');
    await tx.query(
      `CREATE TABLE ${name} (${columns})${inherits}${r.partitionKey ? ` PARTITION BY ${here(r.partitionKey)}` : ''}`,
    );
    // Before its children are made: they start from its defaults.
    for (const sql of ownSettings.get(r.name) ?? []) await tx.query(here(sql));
  }
  await finishSequenceCopies(tx, sequences, scratch, new Set(relations.map((r) => r.name)));
  // Rows table by table, each from ONLY itself: an inheritance child's rows are not its parent's too (they would
  // break its keys), and a partition's rows go straight to it, so a partition kept in another schema (not copied)
  // leaves its rows out instead of failing the copy. A column of a copied type is cast to the copy's.
  const rowColumns = await copiedColumns(tx, live, scratch);
  for (const r of relations.filter((x) => x.kind === 'r' && (rowsOf === undefined || rowsOf.has(x.name)))) {
    const copied = rowColumns.get(r.name);
    if (!copied || copied.columns.length === 0) continue;
    await tx.query(
      `INSERT INTO ${quoteIdent(r.name)} (${copied.columns.join(', ')}) OVERRIDING SYSTEM VALUE SELECT ${copied.values.join(', ')} FROM ONLY ${from(r.name)}`,
    );
  }
  // After the rows, as the tables' constraints: a domain's CHECK added NOT VALID on the target stays NOT VALID.
  await finishTypeCopies(tx, types, scratch, uncopiedTypes);
  // After the rows: a CHECK or a foreign key added NOT VALID on the target (rows may break it) stays NOT VALID.
  // Constraints a partition inherits from its parent come with the parent's; the others are added by name.
  for (const k of constraints.filter((x) => !x.inherited)) {
    await tx.query(
      `ALTER TABLE ${quoteIdent(k.table)} ADD CONSTRAINT ${quoteIdent(k.name)} ${here(k.definition)}`,
    );
  }
  // A partition's copy of its parent's key or foreign key got PostgreSQL's name for it; on the target it may have
  // another (a partition made with its own key, then attached): named as there.
  for (const sql of await inheritedConstraintRenames(tx, live, scratch)) await tx.query(sql);
  // The copy's rows are the dry run's own: PostgreSQL would check them against NOT VALID keys on any update.
  await uncheckOrphanUpdates(tx, scratch);
  // A materialized view's indexes come once it exists (below).
  for (const i of indexes.filter((x) => x.kind !== 'm')) await tx.query(here(i.definition));
  // Deepest first (made after their parents): a partitioned partition's index is complete before it is attached.
  for (const i of indexes.filter((x) => x.parent !== null).reverse())
    await tx.query(`ALTER INDEX ${quoteIdent(i.parent ?? '')} ATTACH PARTITION ${quoteIdent(i.name)}`);
  for (const v of relations.filter((x) => x.view !== null)) {
    const kind = v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW';
    await tx.query(`CREATE ${kind} ${quoteIdent(v.name)} AS ${here(v.view ?? '')}`);
  }
  for (const i of indexes.filter((x) => x.kind === 'm')) await tx.query(here(i.definition));
  // Last: a policy may read the copied tables and views.
  await copyRowSecurity(tx, rowSecurity);
  await tx.query("SELECT set_config('search_path', $1, true)", [saved[0]?.path ?? '']);
  return { uncopiedTypes };
}

/**
 * The tables in an order where each partition comes after its parent (a partition made first and attached later
 * has the smaller oid), and each inheritance child after its parents.
 */
function parentsFirst(tables: readonly Relation[]): Relation[] {
  const out: Relation[] = [];
  const made = new Set<string>();
  let left = [...tables];
  while (left.length > 0) {
    const waitsFor = (r: Relation) => [...(r.parent ? [r.parent] : []), ...(r.inherits ?? [])];
    const ready = left.filter((r) =>
      waitsFor(r).every((p) => made.has(p) || !left.some((l) => l.name === p)),
    );
    // Never stuck: what is left when nothing is ready (not possible for partitions) goes as it is.
    for (const r of ready.length > 0 ? ready : left) {
      out.push(r);
      made.add(r.name);
    }
    left = left.filter((r) => !made.has(r.name));
  }
  return out;
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
  return statements.map((s) => ({
    ...s,
    sql: requalify(retargetSequenceLiterals(s.sql, live, scratch), live, scratch),
  }));
}

/**
 * A snapshot of the scratch schema as it would read in the live one (names, types and definitions), taken on
 * `tx`: PostgreSQL leaves out the qualifier of a schema on the search path, and quotes one only when it must.
 * `uncopied`: the target's enum types and domains the copy has not (the statements could not change them), as they
 * are there.
 */
export async function asLive(
  tx: Database,
  snapshot: Snapshot,
  live: string,
  scratch: string,
  uncopied: { enums: readonly Enum[]; domains: readonly Domain[] },
): Promise<Snapshot> {
  await loadParser();
  const { rows } = await tx.query<{ visible: boolean; quoted: string }>(
    'SELECT $1 = ANY (current_schemas(false)) AS visible, quote_ident($1) AS quoted',
    [live],
  );
  // Quoted as PostgreSQL quotes it in the definitions it prints (a keyword too).
  const qualified = `${rows[0]?.quoted ?? quoteIdent(live)}.`;
  const prefix = rows[0]?.visible ? '' : qualified;
  const map = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replaceAll(`${scratch}.`, prefix);
    if (Array.isArray(value)) return value.map(map);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, map(v)]));
    }
    return value;
  };
  // pg_get_indexdef qualifies the table whatever the search path: the target's schema goes there before the rest
  // is mapped (which would leave it out).
  const tables = snapshot.tables.map((t) => ({
    ...t,
    indexes: t.indexes.map((i) => ({ ...i, definition: onTargetTable(i.definition, scratch, qualified) })),
  }));
  const mapped = map({ ...snapshot, tables }) as Snapshot;
  // The copy has no triggers or privileges of the target's, and sequences of its own (copies, made with no grants,
  // whose positions are the dry run's): what it says of them is not the target's (compared without them; the
  // revert's verification compares them on the target). Its row-level security and policies are the target's
  // (`scratch-security.ts`), and so are its enum types and domains (`scratch-types-*.ts`), with those it has not copied
  // as the target has them: they are compared.
  for (const table of mapped.tables) {
    for (const key of ['triggerDefinitions', 'grants'] as const) delete table[key];
  }
  for (const view of mapped.views) delete view.grants;
  const { sequences: _s, schemaGrants: _g, ...rest } = mapped;
  return {
    ...rest,
    ...(rest.enums ? { enums: [...uncopied.enums, ...rest.enums] } : {}),
    ...(rest.domains ? { domains: [...uncopied.domains, ...rest.domains] } : {}),
    schema: live,
  };
}

/**
 * An index definition of the scratch copy with its table qualified by `qualified` (the target's schema, and a dot)
 * instead of `scratch.`. The table is where PostgreSQL's parser finds it, after `ON` or `ON ONLY` (an index on a
 * partitioned table), whatever the index's name holds (`"payment ON amount"`).
 */
function onTargetTable(definition: string, scratch: string, qualified: string): string {
  const relation = parseSql(definition)[0]?.node.relation as
    | { schemaname?: string; location?: number }
    | undefined;
  const at = relation?.location ?? -1;
  if (relation?.schemaname !== scratch || !definition.startsWith(`${scratch}.`, at)) return definition;
  return `${definition.slice(0, at)}${qualified}${definition.slice(at + scratch.length + 1)}`;
}
