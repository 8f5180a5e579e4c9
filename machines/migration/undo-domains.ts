/**
 * A revert's domains, following the enum types' path (`undo-enums.ts`): a domain the migration dropped (`DROP DOMAIN
 * ... CASCADE` takes the columns of it, in any table of the schema) is made again before the tables and columns of it
 * (`create`), with its CHECKs (added while no column uses it: PostgreSQL cannot check one added later through an array
 * or a composite type of the domain; the restored rows are checked as they go in); its default, NOT NULL and `NOT
 * VALID` CHECKs come in `finish`, once the rows are back (a re-added column is empty until then). One the migration
 * altered gets back what it lost: a CHECK or NOT NULL it added is lifted before the rows
 * are restored (`drop`), one it dropped is added again after them, its default is set back. One it created is dropped
 * last, once the columns of it are gone. A renamed one is renamed back first, with the migration's other renames
 * (`revert.ts`). A base type or collation cannot be altered: a domain made again with another is left as it is, and
 * the revert's verification names it.
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { Snapshot } from './snapshot.js';
import type { Domain } from './snapshot-domains.js';
import { byName, type UndoPlan } from './undo-plan.js';

/** A constraint that never checked the values already there (`pg_get_constraintdef` ends it so). */
const notValid = (definition: string) => /\bNOT VALID$/.test(definition);

/** Adds to `plan` what sets the domains of `before` back. Only where both snapshots recorded them. */
export function undoDomains(plan: UndoPlan, current: Snapshot, before: Snapshot): void {
  if (!current.domains || !before.domains) return;
  const rel = (name: string) => qualifiedName(before.schema, name);
  const now = byName(current.domains);
  const then = byName(before.domains);
  const check = (d: Domain, k: Domain['checks'][number]) =>
    `ALTER DOMAIN ${rel(d.name)} ADD CONSTRAINT ${quoteIdent(k.name)} ${k.definition}`;
  // In the snapshot's order: a domain over another one of the schema after it.
  plan.create.unshift(
    ...before.domains
      .filter((d) => !now.has(d.name))
      .flatMap((d) => [
        `CREATE DOMAIN ${rel(d.name)} AS ${d.type}${d.collation ? ` COLLATE ${d.collation}` : ''}`,
        ...d.checks.filter((k) => !notValid(k.definition)).map((k) => check(d, k)),
      ]),
  );
  for (const old of before.domains) {
    const domain = rel(old.name);
    const alter = (action: string) => `ALTER DOMAIN ${domain} ${action}`;
    const was = now.get(old.name) ?? null;
    const checks = byName(was?.checks ?? []);
    const oldChecks = byName(old.checks);
    if (was !== null) {
      // Lifted before the rows come back: they may break it.
      for (const k of was.checks)
        if (oldChecks.get(k.name)?.definition !== k.definition)
          plan.drop.push(alter(`DROP CONSTRAINT ${quoteIdent(k.name)}`));
      if (was.notNull && !old.notNull) plan.drop.push(alter('DROP NOT NULL'));
    }
    if (was?.default !== old.default && (was !== null || old.default !== null))
      plan.finish.push(alter(old.default === null ? 'DROP DEFAULT' : `SET DEFAULT ${old.default}`));
    if (old.notNull && !was?.notNull) plan.finish.push(alter('SET NOT NULL'));
    for (const k of old.checks)
      if (checks.get(k.name)?.definition !== k.definition && (was !== null || notValid(k.definition)))
        plan.finish.push(check(old, k));
  }
  // Last, once the columns of them are dropped or retyped; one over another of them first.
  for (const d of [...current.domains].reverse())
    if (!then.has(d.name)) plan.finish.push(`DROP DOMAIN IF EXISTS ${rel(d.name)}`);
}
