/**
 * The enum types of a schema and their labels, as a {@link Snapshot} records them: `ALTER TYPE ... ADD VALUE` and
 * `RENAME VALUE` change what columns of the type may hold and read. A label keeps its sort position
 * (`enumsortorder`) across a rename, so the positions tell a renamed label from one added or dropped.
 */
import { z } from 'zod';
import type { Database } from '../../src/db/index.js';

/** One enum type, its labels in their order and the sort position of each. */
export const EnumSchema = z.object({
  name: z.string(),
  labels: z.array(z.string()),
  orders: z.array(z.number()),
});
/** One enum type. */
export type Enum = z.infer<typeof EnumSchema>;

/** The enum types of the schema; those an extension owns are left out, as its relations are. */
const ENUMS = `
  SELECT t.typname AS name,
         ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
         ARRAY(SELECT e.enumsortorder::float8 FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS orders
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = $1 AND t.typtype = 'e'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  ORDER BY t.typname`;

/** Reads the enum types of `schema`. */
export async function readEnums(db: Database, schema: string): Promise<Enum[]> {
  const { rows } = await db.query<Record<string, unknown>>(ENUMS, [schema]);
  return rows.map((r) => EnumSchema.parse({ ...r, orders: ((r.orders as unknown[]) ?? []).map(Number) }));
}

/** The labels as compared and reported: `'a', 'b', 'c'`. */
export function labelsText(e: Enum): string {
  return e.labels.map((l) => `'${l.replaceAll("'", "''")}'`).join(', ');
}

/** The labels of `now` that `then` has not at any position: added (ADD VALUE), which no revert can drop. */
export function addedLabels(then: Enum, now: Enum): string[] {
  const positions = new Set(then.orders);
  return now.labels.filter((_, i) => !positions.has(now.orders[i] as number));
}
