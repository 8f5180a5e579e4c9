/**
 * Who may do what in the schema, as a {@link Snapshot} records it: the privileges granted on its tables, views,
 * sequences and columns and on the schema itself, and row-level security (a table's ENABLE / FORCE ROW LEVEL
 * SECURITY and its policies). A migration that GRANTs, REVOKEs or changes a policy changes what every client may
 * read or write, so the revert sets them back and its verification compares them.
 */
import { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import { extensionMember } from './snapshot-queries.js';

/**
 * One privilege that differs from the object's default. The default (the owner's privileges, all of them on a
 * relation, none for anyone else) is left out: a table the migration creates, or the revert makes again (owned by
 * the role that runs it), would otherwise show its owner's seven privileges as changes. `revoked` marks a default
 * privilege that was taken away (`REVOKE ... FROM owner`). The grantor is not recorded: a revert grants as the role
 * it runs as, and a grant's effect does not depend on who made it.
 */
export const GrantSchema = z.object({
  grantee: z.string(),
  privilege: z.string(),
  grantable: z.boolean(),
  /** A column's privilege (`GRANT SELECT (c) ON t`), or absent for the whole object. */
  column: z.string().optional(),
  revoked: z.boolean().optional(),
});
/** One privilege differing from the default. */
export type Grant = z.infer<typeof GrantSchema>;

/** One row-level security policy, its expressions as `pg_get_expr` prints them. */
export const PolicySchema = z.object({
  name: z.string(),
  permissive: z.boolean(),
  /** `r` SELECT, `a` INSERT, `w` UPDATE, `d` DELETE, `*` ALL (`pg_policy.polcmd`). */
  command: z.string(),
  /** Role names, `public` for PUBLIC, sorted. */
  roles: z.array(z.string()),
  using: z.string().nullable(),
  check: z.string().nullable(),
});
/** One row-level security policy. */
export type Policy = z.infer<typeof PolicySchema>;

/** `ALTER TABLE ... ENABLE ROW LEVEL SECURITY` and `FORCE ROW LEVEL SECURITY`. */
export const RowSecuritySchema = z.object({ enabled: z.boolean(), forced: z.boolean() });

/** The object kind, as GRANT names it, of a `pg_class.relkind`. */
const KIND: Record<string, string> = { r: 'TABLE', p: 'TABLE', v: 'TABLE', m: 'TABLE', S: 'SEQUENCE' };

/**
 * SQL: the privileges of `acl` (null for the default) that differ from `def`, the default: granted beyond it, or
 * taken from it (`revoked`). The grantor is left out of the comparison, as it is of the snapshot.
 */
const differing = (acl: string, def: string) => `(
  SELECT g.grantee, g.privilege_type, g.is_grantable, false AS revoked
    FROM aclexplode(COALESCE(${acl}, ${def})) g
  EXCEPT SELECT d.grantee, d.privilege_type, d.is_grantable, false FROM aclexplode(${def}) d
  UNION ALL
  (SELECT d.grantee, d.privilege_type, d.is_grantable, true FROM aclexplode(${def}) d
   EXCEPT SELECT g.grantee, g.privilege_type, g.is_grantable, true FROM aclexplode(COALESCE(${acl}, ${def})) g))`;

const GRANTEE = `CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END`;

/** Privileges on the relations (tables, views, sequences) and their columns. A column's default is none. */
const RELATION_GRANTS = `
  SELECT c.relname AS relation, NULL::text AS "column", ${GRANTEE} AS grantee, x.privilege_type AS privilege,
         x.is_grantable AS grantable, x.revoked
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL ${differing('c.relacl', "acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::\"char\", c.relowner)")} x
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT ${extensionMember('c.oid')}
  UNION ALL
  SELECT c.relname, a.attname::text, ${GRANTEE}, x.privilege_type, x.is_grantable, false
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
  CROSS JOIN LATERAL aclexplode(a.attacl) x
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT ${extensionMember('c.oid')}
  ORDER BY 1, 2 NULLS FIRST, 3, 4`;

/** Privileges on the schema itself (USAGE, CREATE). */
const SCHEMA_GRANTS = `
  SELECT ${GRANTEE} AS grantee, x.privilege_type AS privilege, x.is_grantable AS grantable, x.revoked
  FROM pg_namespace n CROSS JOIN LATERAL ${differing('n.nspacl', 'acldefault(\'n\'::"char", n.nspowner)')} x
  WHERE n.nspname = $1
  ORDER BY 1, 2`;

/** The policies of the tables. */
export const POLICIES = `
  SELECT c.relname AS "table", p.polname AS name, p.polpermissive AS permissive, p.polcmd::text AS command,
         ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END FROM unnest(p.polroles) r
               ORDER BY 1) AS roles,
         pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS "check"
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND NOT ${extensionMember('c.oid')}
  ORDER BY 1, 2`;

/** What {@link readSecurity} reads. */
export interface Security {
  /** By relation name. */
  readonly grants: Map<string, Grant[]>;
  /** By table name. */
  readonly policies: Map<string, Policy[]>;
  readonly schemaGrants: Grant[];
}

/** Reads the privileges and policies of `schema`, one query after the other (one connection in a transaction). */
export async function readSecurity(db: Database, schema: string): Promise<Security> {
  const grants = new Map<string, Grant[]>();
  const toGrant = (r: Record<string, unknown>): Grant => ({
    grantee: String(r.grantee),
    privilege: String(r.privilege),
    grantable: r.grantable === true,
    ...(r.column ? { column: String(r.column) } : {}),
    ...(r.revoked === true ? { revoked: true } : {}),
  });
  for (const r of (await db.query<Record<string, unknown>>(RELATION_GRANTS, [schema])).rows) {
    const name = String(r.relation);
    grants.set(name, [...(grants.get(name) ?? []), toGrant(r)]);
  }
  const policies = new Map<string, Policy[]>();
  for (const r of (await db.query<Record<string, unknown>>(POLICIES, [schema])).rows) {
    const { table, ...policy } = r;
    policies.set(String(table), [...(policies.get(String(table)) ?? []), PolicySchema.parse(policy)]);
  }
  const schemaGrants = (await db.query<Record<string, unknown>>(SCHEMA_GRANTS, [schema])).rows.map(toGrant);
  return { grants, policies, schemaGrants };
}

/** What GRANT and REVOKE name for an object: `TABLE "s"."t"`, `SEQUENCE "s"."q"`, `SCHEMA "s"`. */
export function grantTarget(kind: string, qualified: string): string {
  return `${KIND[kind] ?? kind} ${qualified}`;
}

/** The key a grant is compared under, naming it as a message would: `grant SELECT (c) on table t to bob`. */
export function grantKey(on: string, g: Grant): string {
  const privilege = g.column === undefined ? g.privilege : `${g.privilege} (${g.column})`;
  return `${g.revoked ? 'default privilege revoked: ' : 'grant '}${privilege} on ${on} to ${g.grantee}`;
}

/** A policy as compared and reported: `PERMISSIVE FOR ALL TO public USING (...) WITH CHECK (...)`. */
export function policyText(p: Policy): string {
  const command = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' }[p.command] ?? p.command;
  const using = p.using === null ? '' : ` USING (${p.using})`;
  const check = p.check === null ? '' : ` WITH CHECK (${p.check})`;
  return `${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${command} TO ${p.roles.join(', ')}${using}${check}`;
}

/** Row-level security as compared: absent when neither enabled nor forced (every table's default). */
export function rowSecurityText(s: { enabled: boolean; forced: boolean } | undefined): string | null {
  if (!s || (!s.enabled && !s.forced)) return null;
  return [s.enabled ? 'enabled' : 'not enabled', ...(s.forced ? ['forced'] : [])].join(', ');
}
