/**
 * The domains of a schema, as a {@link Snapshot} records them: base type, collation, default, NOT NULL and CHECK
 * constraints (`ALTER DOMAIN ... ADD / DROP CONSTRAINT`, `SET / DROP DEFAULT`, `SET / DROP NOT NULL` change what
 * columns of the domain may hold, in every table that has one). Listed base first (a domain over another of the
 * schema after it), so a revert makes them again in that order. Compared in `snapshot-facts.ts`, set back in
 * `undo-domains.ts`; a renamed one is renamed back with the migration's renames (`revert.ts`).
 */
import { z } from 'zod';
import type { Database } from '../../src/db/index.js';

/** One CHECK constraint of a domain, as `pg_get_constraintdef` prints it (`NOT VALID` included). */
const DomainCheckSchema = z.object({ name: z.string(), definition: z.string() });

/** One domain. */
export const DomainSchema = z.object({
  name: z.string(),
  /** The base type, as `format_type` prints it (a domain over a domain names that one). */
  type: z.string(),
  /** The collation, when it is not its base type's (qualified, quoted as needed), or null. */
  collation: z.string().nullable(),
  default: z.string().nullable(),
  notNull: z.boolean(),
  checks: z.array(DomainCheckSchema),
});
/** One domain. */
export type Domain = z.infer<typeof DomainSchema>;

/**
 * The domains of the schema (those an extension owns are left out, as its relations are), each after the domains of
 * the schema it is over (directly, or through an array of one). NOT NULL constraints (`n`, PostgreSQL 17 and later)
 * are left out of the checks: `notNull` says the same.
 */
const DOMAINS = `
  WITH RECURSIVE domains AS (
    SELECT t.oid, t.typname, t.typbasetype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = $1 AND t.typtype = 'd'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')),
  depth(oid, depth) AS (
    SELECT d.oid, 0 FROM domains d
    UNION ALL
    SELECT d.oid, depth.depth + 1 FROM domains d JOIN pg_type b ON b.oid = d.typbasetype
      JOIN depth ON depth.oid = b.oid OR depth.oid = b.typelem
    WHERE depth.depth < 32)
  SELECT t.typname AS name, format_type(t.typbasetype, t.typtypmod) AS type,
         CASE WHEN t.typcollation <> b.typcollation
              THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation,
         pg_get_expr(t.typdefaultbin, 0) AS default, t.typnotnull AS "notNull",
         ARRAY(SELECT json_build_object('name', k.conname, 'definition', pg_get_constraintdef(k.oid))
               FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) AS checks
  FROM domains d JOIN pg_type t ON t.oid = d.oid JOIN pg_type b ON b.oid = t.typbasetype
  LEFT JOIN pg_collation co ON co.oid = t.typcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
  ORDER BY (SELECT max(depth) FROM depth WHERE depth.oid = d.oid), t.typname`;

/** Reads the domains of `schema`. */
export async function readDomains(db: Database, schema: string): Promise<Domain[]> {
  const { rows } = await db.query<Record<string, unknown>>(DOMAINS, [schema]);
  return rows.map((r) =>
    DomainSchema.parse({
      ...r,
      // json columns: node-postgres and PGlite parse them; a driver that does not gives their text.
      checks: ((r.checks as unknown[]) ?? []).map((c) => (typeof c === 'string' ? JSON.parse(c) : c)),
    }),
  );
}

/** A domain as compared and reported, its CHECKs apart: `integer COLLATE "C" DEFAULT 0 NOT NULL`. */
export function domainText(d: Domain): string {
  const collate = d.collation === null ? '' : ` COLLATE ${d.collation}`;
  const fallback = d.default === null ? '' : ` DEFAULT ${d.default}`;
  return `${d.type}${collate}${fallback}${d.notNull ? ' NOT NULL' : ''}`;
}
