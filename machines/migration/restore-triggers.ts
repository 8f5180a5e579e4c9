/**
 * The user's triggers and rules are off while a revert puts rows back. The restore rewrites every backed-up row: an
 * `updated_at` or counter trigger would change rows the migration never touched, an audit trigger would log a
 * change that is an undo, and a trigger refusing updates would fail the revert. Each is set back to exactly the state
 * it had (enabled, `ALWAYS`, `REPLICA`), in the revert's own transaction. Turning them off needs the table's owner:
 * where the migration's role is not, the restore goes on with them on, as before.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';

interface Switched {
  readonly table: string;
  readonly name: string;
  readonly kind: 'TRIGGER' | 'RULE';
  /** `O` enabled, `A` always, `R` replica (pg_trigger.tgenabled, pg_rewrite.ev_enabled). */
  readonly enabled: string;
}

const ENABLE: Record<string, string> = { O: 'ENABLE', A: 'ENABLE ALWAYS', R: 'ENABLE REPLICA' };

/**
 * Runs `restore` with the enabled user triggers and rules of `tables` (in `schema`) off, then sets them back. Returns
 * what `restore` returns.
 */
export async function withTriggersOff<T>(
  tx: Database,
  schema: string,
  tables: readonly string[],
  restore: () => Promise<T>,
): Promise<T> {
  if (tables.length === 0) return restore();
  const { rows } = await tx.query<Switched>(
    `SELECT c.relname::text AS "table", t.tgname::text AS name, 'TRIGGER' AS kind, t.tgenabled::text AS enabled
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND NOT t.tgisinternal AND t.tgenabled <> 'D'
     UNION ALL
     SELECT c.relname::text, r.rulename::text, 'RULE', r.ev_enabled::text
     FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND r.rulename <> '_RETURN' AND r.ev_enabled <> 'D'
     ORDER BY 1, 2`,
    [schema, [...tables]],
  );
  const known = rows.filter((r) => ENABLE[r.enabled]);
  if (known.length === 0) return restore();
  const alter = (r: Switched, action: string) =>
    `ALTER TABLE ONLY ${qualifiedName(schema, r.table)} ${action} ${r.kind} ${quoteIdent(r.name)}`;
  await tx.query('SAVEPOINT flowstate_triggers_off');
  try {
    for (const r of known) await tx.query(alter(r, 'DISABLE'));
  } catch {
    // Not the owner (or a lock refused): they stay on.
    await tx.query('ROLLBACK TO SAVEPOINT flowstate_triggers_off');
    return restore();
  }
  const result = await restore();
  for (const r of known) await tx.query(alter(r, ENABLE[r.enabled] as string));
  return result;
}
