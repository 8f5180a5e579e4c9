/**
 * The sequences of a schema, as a {@link Snapshot} records them: their definition (type, start, increment, bounds,
 * cache, cycle, the column that owns them) is compared exactly; their position only in one direction. A sequence
 * moves forward outside any transaction (every `nextval`, the application's inserts during the migration, the dry
 * run's too), so a position ahead of the recorded one is no difference; one behind it is (`ALTER SEQUENCE ...
 * RESTART`, a `setval` back, a sequence made again from its start): the next rows would take values already used.
 * An identity's sequence is left out: it is its column's (`identity` in the columns), made and dropped with it.
 */
import { z } from 'zod';
import { type Database, qualifiedName } from '../../src/db/index.js';
import { extensionMember } from './snapshot-queries.js';
import { GrantSchema } from './snapshot-security.js';

/** Where a sequence stands: `last_value` (as text: a bigint) and `is_called`. */
const PositionSchema = z.object({ lastValue: z.string(), isCalled: z.boolean() });

/** One sequence. Numbers are text: they are bigints. */
export const SequenceSchema = z.object({
  name: z.string(),
  type: z.string(),
  start: z.string(),
  increment: z.string(),
  min: z.string(),
  max: z.string(),
  cache: z.string(),
  cycle: z.boolean(),
  /** `OWNED BY` (a column of a table of the same schema, as PostgreSQL requires), or null. */
  ownedBy: z.object({ table: z.string(), column: z.string() }).nullable(),
  /** Null when the role may not read it (no SELECT privilege on it): then it is not compared. */
  position: PositionSchema.nullable(),
  grants: z.array(GrantSchema).optional(),
});
/** One sequence. */
export type Sequence = z.infer<typeof SequenceSchema>;

/**
 * The options of an identity column's sequence (`GENERATED ... AS IDENTITY (START WITH 1000 INCREMENT BY 10)`), as
 * the snapshot's columns record them; its type is the column's. Numbers are text: they are bigints.
 */
export const IdentitySequenceSchema = SequenceSchema.pick({
  start: true,
  increment: true,
  min: true,
  max: true,
  cache: true,
  cycle: true,
});
/** The options of an identity column's sequence. */
export type IdentitySequence = z.infer<typeof IdentitySequenceSchema>;

/** The options as `CREATE SEQUENCE` and `GENERATED ... AS IDENTITY (...)` take them. */
export function identityOptions(s: IdentitySequence): string {
  return `START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache} ${s.cycle ? 'CYCLE' : 'NO CYCLE'}`;
}

/** The options as compared and reported: `start 1000, increment 10, 1..2147483647, cache 1, no cycle`. */
export function identityText(s: IdentitySequence): string {
  return `start ${s.start}, increment ${s.increment}, ${s.min}..${s.max}, cache ${s.cache}, ${s.cycle ? 'cycle' : 'no cycle'}`;
}

/** The sequences, with whether the role may read their position. */
const SEQUENCES = `
  SELECT c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
         s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache,
         s.seqcycle AS cycle,
         (SELECT json_build_object('table', t.relname, 'column', a.attname)
            FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
             AND d.deptype = 'a' LIMIT 1) AS "ownedBy",
         has_sequence_privilege(c.oid, 'SELECT') AS readable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
  WHERE n.nspname = $1 AND c.relkind = 'S' AND NOT ${extensionMember('c.oid')}
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'i')
  ORDER BY c.relname`;

/** Reads the sequences of `schema`, their positions in one more query (a sequence's are in the sequence itself). */
export async function readSequences(db: Database, schema: string): Promise<Omit<Sequence, 'grants'>[]> {
  const { rows } = await db.query<Record<string, unknown>>(SEQUENCES, [schema]);
  const readable = rows.filter((r) => r.readable === true);
  const positions = new Map<string, z.infer<typeof PositionSchema>>();
  if (readable.length > 0) {
    const { rows: at } = await db.query<{ i: number; lastValue: string; isCalled: boolean }>(
      readable
        .map(
          (r, i) =>
            `SELECT ${i} AS i, last_value::text AS "lastValue", is_called AS "isCalled" FROM ${qualifiedName(schema, String(r.name))}`,
        )
        .join(' UNION ALL '),
    );
    for (const p of at) positions.set(String(readable[Number(p.i)]?.name), p);
  }
  return rows.map(({ readable: _, ownedBy, ...r }) =>
    SequenceSchema.omit({ grants: true }).parse({
      ...r,
      // A json column: node-postgres and PGlite parse it; a driver that does not gives its text.
      ownedBy: typeof ownedBy === 'string' ? JSON.parse(ownedBy) : (ownedBy ?? null),
      position: positions.get(String(r.name)) ?? null,
    }),
  );
}

/** A sequence's definition as compared and reported (its position and grants apart). */
export function sequenceText(s: Sequence): string {
  const owner = s.ownedBy ? `owned by ${s.ownedBy.table}.${s.ownedBy.column}` : 'owned by none';
  return `${s.type}, start ${s.start}, increment ${s.increment}, ${s.min}..${s.max}, cache ${s.cache}, ${s.cycle ? 'cycle' : 'no cycle'}, ${owner}`;
}

/** The value `nextval` would hand out next, or null when it is not recorded. */
function nextValue(s: Sequence): bigint | null {
  if (!s.position) return null;
  const last = BigInt(s.position.lastValue);
  return s.position.isCalled ? last + BigInt(s.increment) : last;
}

/**
 * Whether `now` stands behind `then`: its next value is one `then` had already handed out (in the direction of
 * `then`'s increment). A cycling sequence has no behind (it comes back to its start on purpose).
 */
export function isBehind(then: Sequence, now: Sequence): boolean {
  const a = nextValue(then);
  const b = nextValue(now);
  if (a === null || b === null || then.cycle) return false;
  return BigInt(then.increment) > 0n ? b < a : b > a;
}

/** Differences of position: the sequences of `actual` behind those of `expected`. */
export function sequencesBehind(
  expected: readonly Sequence[],
  actual: readonly Sequence[],
): { object: string; relation: string; expected: string; actual: string }[] {
  const now = new Map(actual.map((s) => [s.name, s]));
  return expected.flatMap((s) => {
    const other = now.get(s.name);
    if (!other || !isBehind(s, other)) return [];
    return [
      {
        object: `position of sequence ${s.name}`,
        relation: s.name,
        expected: `next value ${nextValue(s)} or later`,
        actual: `next value ${nextValue(other)} (behind: values already used would be handed out again)`,
      },
    ];
  });
}
