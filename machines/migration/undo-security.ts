/**
 * A revert's privileges and row-level security: what the migration granted is revoked, what it revoked is granted
 * again (on tables, views, sequences, columns and the schema), row-level security is enabled, disabled, forced or
 * not as it was, and policies it created or changed are dropped, those it dropped or changed made again. Only where
 * both snapshots recorded them.
 *
 * Order: a policy may depend on a column the revert drops, and a policy or row-level security the migration added
 * may hide rows from the restore (or refuse them), so those go in `drop`, before the rows come back; what was there
 * before comes back in `finish`, after the rows, the columns and the views (a view made again has no grants).
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import { createPolicy } from './scratch-security.js';
import type { Snapshot } from './snapshot.js';
import { type Grant, grantTarget, type Policy, policyText } from './snapshot-security.js';
import { byName, type UndoPlan } from './undo-plan.js';

/** Adds to `plan` what sets privileges, row-level security and policies back to `before`. */
export function undoSecurity(plan: UndoPlan, current: Snapshot, before: Snapshot): void {
  const schema = before.schema;
  const rel = (name: string) => qualifiedName(schema, name);
  const now = byName(current.tables);
  const policiesRecorded = [current, before].every((s) => s.tables.every((t) => t.policies !== undefined));
  for (const old of before.tables) {
    const table = now.get(old.name);
    if (policiesRecorded) {
      const thenPolicies = byName(old.policies ?? []);
      const nowPolicies = byName(table?.policies ?? []);
      const same = (a: Policy | undefined, b: Policy | undefined) =>
        a !== undefined && b !== undefined && policyText(a) === policyText(b);
      for (const p of nowPolicies.values())
        if (!same(p, thenPolicies.get(p.name)))
          plan.drop.unshift(`DROP POLICY ${quoteIdent(p.name)} ON ${rel(old.name)}`);
      for (const p of thenPolicies.values())
        if (!same(p, nowPolicies.get(p.name))) plan.finish.push(createPolicy(p, rel(old.name)));
    }
    const then = old.rowSecurity;
    const was = table ? table.rowSecurity : { enabled: false, forced: false };
    if (then && was) {
      const alter = (action: string) => `ALTER TABLE ${rel(old.name)} ${action}`;
      // Turned off before the rows come back, on after.
      if (was.enabled !== then.enabled)
        (then.enabled ? plan.finish : plan.drop).push(
          alter(`${then.enabled ? 'ENABLE' : 'DISABLE'} ROW LEVEL SECURITY`),
        );
      if (was.forced !== then.forced)
        (then.forced ? plan.finish : plan.drop).push(
          alter(`${then.forced ? 'FORCE' : 'NO FORCE'} ROW LEVEL SECURITY`),
        );
    }
  }
  undoGrants(plan, current, before);
}

/**
 * Privileges: per object of `before` (one the revert drops has none to set back), the difference with `current`.
 * An object the revert makes again (a table or sequence the migration dropped, a view whose definition changed)
 * starts from its defaults.
 */
function undoGrants(plan: UndoPlan, current: Snapshot, before: Snapshot): void {
  const schema = before.schema;
  const rel = (name: string) => qualifiedName(schema, name);
  const recorded = (s: Snapshot) =>
    s.tables.every((t) => t.grants !== undefined) && s.views.every((v) => v.grants !== undefined);
  if (!recorded(current) || !recorded(before)) return;
  const tables = byName(current.tables);
  const views = byName(current.views);
  const sequences = byName(current.sequences ?? []);
  for (const old of before.tables) {
    // A column the revert drops takes its grants with it; one it adds again starts with none (not in `current`).
    const columns = new Set(old.columns.map((c) => c.name));
    const was = (tables.get(old.name)?.grants ?? []).filter(
      (g) => g.column === undefined || columns.has(g.column),
    );
    setBack(plan, grantTarget('r', rel(old.name)), was, old.grants ?? []);
  }
  for (const old of before.views) {
    const view = views.get(old.name);
    const remade = view?.definition !== old.definition || view.materialized !== old.materialized;
    setBack(plan, grantTarget('r', rel(old.name)), remade ? [] : (view?.grants ?? []), old.grants ?? []);
  }
  if (before.sequences && current.sequences)
    for (const old of before.sequences)
      setBack(plan, grantTarget('S', rel(old.name)), sequences.get(old.name)?.grants ?? [], old.grants ?? []);
  if (before.schemaGrants && current.schemaGrants)
    setBack(plan, `SCHEMA ${quoteIdent(schema)}`, current.schemaGrants, before.schemaGrants);
}

/** GRANT and REVOKE statements (in `finish`) taking `on` from the privileges `now` to those `then`. */
function setBack(plan: UndoPlan, on: string, now: readonly Grant[], then: readonly Grant[]): void {
  const key = (g: Grant) => JSON.stringify([g.grantee, g.privilege, g.column ?? null, g.revoked === true]);
  const nowBy = new Map(now.map((g) => [key(g), g]));
  const thenBy = new Map(then.map((g) => [key(g), g]));
  const who = (g: Grant) => (g.grantee === 'PUBLIC' ? 'PUBLIC' : quoteIdent(g.grantee));
  const what = (g: Grant) =>
    g.column === undefined ? g.privilege : `${g.privilege} (${quoteIdent(g.column)})`;
  const grant = (g: Grant, option: boolean) =>
    `GRANT ${what(g)} ON ${on} TO ${who(g)}${option ? ' WITH GRANT OPTION' : ''}`;
  const revoke = (g: Grant, optionOnly: boolean) =>
    `REVOKE ${optionOnly ? 'GRANT OPTION FOR ' : ''}${what(g)} ON ${on} FROM ${who(g)}`;
  // Revokes first: a grant option given back before a revoke of the same privilege would be lost with it.
  for (const [k, g] of nowBy) {
    const old = thenBy.get(k);
    // A default privilege the migration revoked is granted again; one granted beyond the default is revoked.
    if (!old) plan.finish.push(g.revoked ? grant(g, false) : revoke(g, false));
    else if (g.grantable && !old.grantable) plan.finish.push(revoke(g, true));
  }
  for (const [k, g] of thenBy) {
    const was = nowBy.get(k);
    if (!was) plan.finish.push(g.revoked ? revoke(g, false) : grant(g, g.grantable));
    else if (g.grantable && !was.grantable) plan.finish.push(grant(g, true));
  }
}
