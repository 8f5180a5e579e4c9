/**
 * Statements that no revert can undo, each with the reason the approval shows. The template treats them as it does
 * every change its dry run cannot revert (`MIGRATION_NOT_REVERSIBLE`): applied only with a human's approval, asked
 * for up front with the reason, and if the migration fails after it is applied, its revert cannot reach the
 * snapshot and changes nothing (a revert is all or nothing), so the migration's changes stay and the run ends
 * failed, naming what could not be undone.
 *
 * `ALTER TYPE ... ADD VALUE`: PostgreSQL has no `DROP VALUE`. The only way back is to rewrite the type (a new enum,
 * every column of it in any schema retyped under an ACCESS EXCLUSIVE lock, with its indexes, defaults, views and
 * partition bounds, then the old type dropped), or to delete the label from `pg_enum` (a superuser's catalog edit
 * that corrupts any index or row holding it). Neither is safe to run unattended on any database, so the label is
 * never dropped. `RENAME VALUE` is reverted by renaming back, a catalog-only change (see `undo-enums.ts`); it needs an
 * approval for what it does to the rows' values (`unproven`), not for its revert.
 */
export const IRREVERSIBLE: Record<string, string> = {
  AlterEnumAddValue:
    'ALTER TYPE ... ADD VALUE cannot be reverted: PostgreSQL cannot drop an enum label (only rewriting the type and every column of it could), so if the migration fails after it is applied, the revert cannot run and all its changes stay; it needs an approval',
};
