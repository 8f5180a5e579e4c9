/**
 * Sequences in the dry run: `nextval` and `setval` are not transactional (a rolled-back transaction keeps what they
 * did), so a dry run that reached the target's sequences moved them for good, even for a migration never applied:
 * `SELECT setval('s.q', 1)` tried on the copy set the real `s.q` back, and the next inserts collided.
 * (`ALTER SEQUENCE ... RESTART`, checked on PostgreSQL 15 and PGlite, is rolled back like the rest of the DDL.)
 *
 * Why copies, and not a refusal: a migration that moves or alters a sequence must still be tried, like any other.
 * The scratch copy gets a copy of each of the schema's sequences (options and position), the copied columns'
 * defaults call the copies (made from their text with the copy first on the search path: see `copySchema`), and the
 * statements' `nextval('s.q')` / `setval('s.q', ...)` literals are requalified to the copy like their other names.
 * So `ALTER SEQUENCE s.q`, `GRANT ... ON SEQUENCE s.q` and a dry-run insert all land on the copy.
 *
 * What cannot be shown to reach a copy is refused before anything runs (`sequenceCallRefusals`): a `setval` or
 * `nextval` whose sequence is not a plain string (a variable, `pg_get_serial_sequence(...)`), one that names a
 * sequence of another schema, with `dryRun: 'live'` any `setval` (the statements run on the target itself), and a
 * DO block or routine body that calls either (its names are only resolved when it runs). Code the statements call
 * without showing it (the database's own functions) is checked after the fact (`sequencesMovedBack`): a sequence of
 * the database left behind where it stood is set forward again at once and the dry run fails, naming it.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { loadParser, type PgNode, parseSql } from '../lib/pg-parser.js';
import { MigrationError } from './errors.js';
import type { PlannedStatement } from './parse.js';
import { isBehind, readSequences, type Sequence } from './snapshot-sequences.js';

/** Functions that change a sequence outside the transaction. */
const MOVES_SEQUENCE = new Set(['setval', 'nextval']);

/** What the copy needs of the target's sequences, read before the copy is made. */
export interface SequenceCopy {
  readonly sequences: readonly Omit<Sequence, 'grants'>[];
  /** Where the sequence of each identity column stands (the copy's identity gets a sequence of its own). */
  readonly identities: readonly { table: string; column: string; lastValue: string | null }[];
}

/** Reads the target's sequences. */
export async function readSequenceCopy(tx: Database, live: string): Promise<SequenceCopy> {
  const sequences = await readSequences(tx, live);
  const { rows: identities } = await tx.query<{ table: string; column: string; lastValue: string | null }>(
    `SELECT c.relname AS "table", a.attname AS column,
            CASE WHEN has_sequence_privilege(s.oid, 'SELECT') THEN pg_sequence_last_value(s.oid)::text END
              AS "lastValue"
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
        AND d.refobjsubid = a.attnum AND d.deptype = 'i' AND d.classid = 'pg_class'::regclass
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
      WHERE n.nspname = $1 AND a.attidentity <> '' AND NOT a.attisdropped`,
    [live],
  );
  return { sequences, identities };
}

/** Makes the copies of the sequences in the scratch schema (its search path first), where they stand. */
export async function createSequenceCopies(tx: Database, copy: SequenceCopy): Promise<void> {
  for (const s of copy.sequences) {
    await tx.query(
      `CREATE SEQUENCE ${quoteIdent(s.name)} AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min}
         MAXVALUE ${s.max} START WITH ${s.start} CACHE ${s.cache} ${s.cycle ? 'CYCLE' : 'NO CYCLE'}`,
    );
    if (s.position)
      await tx.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [
        quoteIdent(s.name),
        s.position.lastValue,
        s.position.isCalled,
      ]);
  }
}

/** Once the tables are made: each copied sequence owned as on the target, each identity where the target's stands. */
export async function finishSequenceCopies(
  tx: Database,
  copy: SequenceCopy,
  scratch: string,
  copied: ReadonlySet<string>,
): Promise<void> {
  for (const s of copy.sequences) {
    // Owned by a table not copied (an extension's): owned by nothing in the copy.
    if (!s.ownedBy || !copied.has(s.ownedBy.table)) continue;
    await tx.query(
      `ALTER SEQUENCE ${qualifiedName(scratch, s.name)} OWNED BY ${qualifiedName(scratch, s.ownedBy.table)}.${quoteIdent(s.ownedBy.column)}`,
    );
  }
  for (const i of copy.identities) {
    if (i.lastValue === null) continue;
    await tx.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), $3::bigint, true)
        WHERE pg_get_serial_sequence($1, $2) IS NOT NULL`,
      [qualifiedName(scratch, i.table), i.column, i.lastValue],
    );
  }
}

/** A qualified name as `regclass` reads it from a string: `s.q`, `"S"."q"` (unquoted parts fold to lower case). */
function readRegclass(text: string): string[] | null {
  const parts: string[] = [];
  let at = 0;
  while (at < text.length) {
    if (text[at] === '"') {
      let part = '';
      at++;
      for (;;) {
        if (at >= text.length) return null;
        if (text[at] === '"') {
          if (text[at + 1] === '"') {
            part += '"';
            at += 2;
            continue;
          }
          at++;
          break;
        }
        part += text[at++];
      }
      parts.push(part);
    } else {
      const end = text.indexOf('.', at);
      const raw = (end < 0 ? text.slice(at) : text.slice(at, end)).trim();
      if (raw === '' || raw.includes('"')) return null;
      parts.push(raw.toLowerCase());
      at = end < 0 ? text.length : end;
    }
    if (at < text.length) {
      if (text[at] !== '.') return null;
      at++;
    }
  }
  return parts.length > 0 && parts.length <= 3 ? parts : null;
}

interface SequenceCall {
  readonly fn: string;
  /** The string constant naming the sequence, where it is in the statement, or null when it is not one. */
  readonly literal: { text: string; location: number } | null;
}

/** Every call of `setval` / `nextval` (bare or `pg_catalog.`) in a parse tree, with its sequence argument. */
function sequenceCalls(node: unknown, out: SequenceCall[] = []): SequenceCall[] {
  if (Array.isArray(node)) {
    for (const n of node) sequenceCalls(n, out);
    return out;
  }
  if (node === null || typeof node !== 'object') return out;
  const call = (node as PgNode).FuncCall as PgNode | undefined;
  if (call) {
    const names = ((call.funcname as PgNode[] | undefined) ?? []).map((n) =>
      String((n.String as PgNode | undefined)?.sval ?? '').toLowerCase(),
    );
    const fn = names.at(-1) ?? '';
    if (MOVES_SEQUENCE.has(fn) && (names.length === 1 || names[0] === 'pg_catalog')) {
      let arg = (call.args as PgNode[] | undefined)?.[0];
      const cast = arg?.TypeCast as PgNode | undefined;
      if (cast) arg = cast.arg as PgNode;
      const constant = arg?.A_Const as PgNode | undefined;
      const text = (constant?.sval as PgNode | undefined)?.sval;
      out.push({
        fn,
        literal:
          typeof text === 'string' && typeof constant?.location === 'number'
            ? { text, location: constant.location }
            : null,
      });
    }
  }
  for (const value of Object.values(node)) sequenceCalls(value, out);
  return out;
}

/** A routine or DO body that calls a sequence function (read as text: its names are resolved when it runs). */
const BODY_CALLS_SEQUENCE = /\b(setval|nextval)\s*\(/i;

/**
 * Why the dry run must not run the statements (a sequence of the database would move for good), one reason per
 * statement that would; none when they are safe to try. `scratch`: the dry run is on the copy (else on the target).
 * Call {@link loadParser} first.
 */
function sequenceCallRefusals(
  statements: readonly PlannedStatement[],
  live: string,
  scratch: boolean,
): string[] {
  const reasons: string[] = [];
  for (const s of statements) {
    for (const parsed of parseSql(s.sql)) {
      const where = `statement ${s.index + 1}`;
      if (
        (parsed.type === 'DoStmt' || parsed.type === 'CreateFunctionStmt') &&
        BODY_CALLS_SEQUENCE.test(parsed.sql)
      ) {
        reasons.push(
          `${where} has a DO block or routine that calls setval or nextval: the sequence it names is only known when it runs`,
        );
        continue;
      }
      for (const call of sequenceCalls(parsed.node)) {
        if (!scratch) {
          if (call.fn === 'setval')
            reasons.push(`${where} calls setval: the live dry run would move the target's sequence for good`);
          continue;
        }
        const name = call.literal ? readRegclass(call.literal.text) : null;
        if (!name) {
          reasons.push(`${where} calls ${call.fn} on a sequence not named by a plain string`);
          continue;
        }
        if (name.length > 1 && name.at(-2) !== live) {
          reasons.push(
            `${where} calls ${call.fn} on ${call.literal?.text}, a sequence of another schema than '${live}' (not copied)`,
          );
        }
      }
    }
  }
  return reasons;
}

/** Throws when {@link sequenceCallRefusals} finds a reason: before the dry run runs anything. */
export async function refuseSequenceCalls(
  statements: readonly PlannedStatement[],
  live: string,
  scratch: boolean,
): Promise<void> {
  await loadParser();
  const reasons = sequenceCallRefusals(statements, live, scratch);
  if (reasons.length === 0) return;
  throw new MigrationError(
    'MIGRATION_DRY_RUN_REFUSED',
    `Not dry-run: setval and nextval are not rolled back, so trying these statements could move a sequence of the database for good (${reasons.join('; ')}). Name the sequence with a string of the migration's schema (it is then tried on the dry run's copy), or move the sequence yourself outside the migration`,
  );
}

/**
 * `sql` with the sequence named by each `setval` / `nextval` string literal of `live` (`'s.q'`) named in `scratch`
 * instead (`'flowstate_scratch_x.q'`); an unqualified one already finds the copy first on the search path. Call
 * {@link loadParser} first.
 */
export function retargetSequenceLiterals(sql: string, live: string, scratch: string): string {
  const edits: { start: number; end: number; text: string }[] = [];
  for (const parsed of parseSql(sql)) {
    for (const call of sequenceCalls(parsed.node)) {
      if (!call.literal) continue;
      const name = readRegclass(call.literal.text);
      if (!name || name.length < 2 || name.at(-2) !== live) continue;
      const start = parsed.start + call.literal.location;
      // Only a plain '...' token is rewritten: an E'' or dollar-quoted one is left as written.
      const token = `'${call.literal.text.replaceAll("'", "''")}'`;
      if (sql.slice(start, start + token.length) !== token) continue;
      const renamed = `${scratch}.${quoteIdent(name.at(-1) ?? '')}`;
      edits.push({ start, end: start + token.length, text: `'${renamed.replaceAll("'", "''")}'` });
    }
  }
  let out = sql;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * On the copy, once it is made: throws when an unqualified `setval` / `nextval` literal would find the target's
 * sequence after the copy on the search path, because the copy has none of that name (an identity's sequence renamed
 * on the target, an extension's). One the migration makes itself is made in the copy: not refused.
 */
export async function refuseUncopiedSequences(
  tx: Database,
  statements: readonly PlannedStatement[],
  live: string,
  scratch: string,
): Promise<void> {
  await loadParser();
  const reasons: string[] = [];
  for (const s of statements) {
    for (const parsed of parseSql(s.sql)) {
      for (const call of sequenceCalls(parsed.node)) {
        const name = call.literal ? readRegclass(call.literal.text) : null;
        if (name?.length !== 1) continue;
        const { rows } = await tx.query<{ target: boolean }>(
          'SELECT to_regclass($1) IS NULL AND to_regclass($2) IS NOT NULL AS target',
          [qualifiedName(scratch, name[0] ?? ''), qualifiedName(live, name[0] ?? '')],
        );
        if (rows[0]?.target)
          reasons.push(`statement ${s.index + 1} calls ${call.fn} on ${name[0]}, which the copy has not`);
      }
    }
  }
  if (reasons.length === 0) return;
  throw new MigrationError(
    'MIGRATION_DRY_RUN_REFUSED',
    `Not dry-run: setval and nextval are not rolled back, and the target's sequence would be used (${reasons.join('; ')})`,
  );
}

/** Every sequence of the database outside `skip`'s schemas, by schema, where it stands. */
export async function databaseSequences(
  tx: Database,
  skip: readonly string[],
): Promise<Map<string, Omit<Sequence, 'grants'>[]>> {
  const { rows } = await tx.query<{ schema: string }>(
    `SELECT DISTINCT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND n.nspname <> ALL ($1::text[])
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
    [[...skip]],
  );
  const out = new Map<string, Omit<Sequence, 'grants'>[]>();
  for (const r of rows) out.set(r.schema, await readSequences(tx, r.schema));
  return out;
}

/**
 * After the dry run's statements: the database's sequences left behind where they stood (a `setval` back the
 * checks above could not see, in a function the statements called) are set forward again at once (what the
 * application then draws is new), and the dry run fails naming them.
 */
export async function sequencesMovedBack(
  tx: Database,
  before: Map<string, Omit<Sequence, 'grants'>[]>,
): Promise<void> {
  const moved: string[] = [];
  for (const [schema, sequences] of before) {
    const now = new Map((await readSequences(tx, schema)).map((s) => [s.name, s]));
    for (const s of sequences) {
      const after = now.get(s.name);
      if (!after || !s.position || !isBehind({ ...s, grants: [] }, { ...after, grants: [] })) continue;
      await tx.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [
        qualifiedName(schema, s.name),
        s.position.lastValue,
        s.position.isCalled,
      ]);
      moved.push(`${schema}.${s.name} (set back to ${after.position?.lastValue}, set forward again)`);
    }
  }
  if (moved.length > 0)
    throw new MigrationError(
      'MIGRATION_DRY_RUN_MOVED_SEQUENCE',
      `The dry run moved a sequence of the database back (setval is not rolled back): ${moved.join(', ')}. Something the statements call sets it; the migration is not applied`,
    );
}
