/**
 * Row-level security in the dry run's copy: each copied table gets the target's ENABLE / FORCE ROW LEVEL SECURITY
 * and its policies, so that a migration's `DROP POLICY`, `ALTER POLICY` or `CREATE POLICY ... ` of a name already
 * there does in the dry run what it does on the target (the copy had none: they failed there, or passed where the
 * apply would fail), and the dry run's expected shape holds the policies the apply must leave. Privileges are not
 * copied: the copy is owned by the role running the dry run, not the target's owner, so what it says of them is not
 * the target's (`asLive` leaves them out; the revert's verification compares them on the target).
 */
import { type Database, quoteIdent } from '../../src/db/index.js';
import { extensionMember } from './snapshot-queries.js';
import { POLICIES, type Policy, PolicySchema } from './snapshot-security.js';

/** What {@link readRowSecurity} reads. */
export interface RowSecurityCopy {
  readonly flags: { table: string; enabled: boolean; forced: boolean }[];
  readonly policies: (Policy & { table: string })[];
}

/**
 * Reads the target's row-level security with its schema alone on the search path (as `copySchema` reads the rest),
 * so that the policies' expressions name its objects unqualified and find the copy's when made under the scratch
 * schema.
 */
export async function readRowSecurity(tx: Database, live: string): Promise<RowSecurityCopy> {
  const { rows: flags } = await tx.query<{ table: string; enabled: boolean; forced: boolean }>(
    `SELECT c.relname AS "table", c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity)
        AND NOT ${extensionMember('c.oid')}`,
    [live],
  );
  const { rows } = await tx.query<Record<string, unknown>>(POLICIES, [live]);
  const policies = rows.map((r) => ({ ...PolicySchema.parse(r), table: String(r.table) }));
  return { flags, policies };
}

/** Makes `copy` on the copied tables (the search path has the scratch schema first). */
export async function copyRowSecurity(tx: Database, copy: RowSecurityCopy): Promise<void> {
  for (const f of copy.flags) {
    if (f.enabled) await tx.query(`ALTER TABLE ${quoteIdent(f.table)} ENABLE ROW LEVEL SECURITY`);
    if (f.forced) await tx.query(`ALTER TABLE ${quoteIdent(f.table)} FORCE ROW LEVEL SECURITY`);
  }
  for (const p of copy.policies) await tx.query(createPolicy(p, quoteIdent(p.table)));
}

const COMMANDS: Record<string, string> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };

/** `CREATE POLICY` as a snapshot recorded it, on `table` (already quoted or qualified). */
export function createPolicy(p: Policy, table: string): string {
  const roles = p.roles.map((r) => (r === 'public' ? 'PUBLIC' : quoteIdent(r))).join(', ');
  const using = p.using === null ? '' : ` USING (${p.using})`;
  const check = p.check === null ? '' : ` WITH CHECK (${p.check})`;
  return `CREATE POLICY ${quoteIdent(p.name)} ON ${table} AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${COMMANDS[p.command] ?? 'ALL'} TO ${roles}${using}${check}`;
}
