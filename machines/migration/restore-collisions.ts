/**
 * Rows a restore cannot put back by UPDATE. A migration that swapped unique values between rows through a temporary
 * value (`code` 1 and 2 of two seats exchanged) leaves rows that one UPDATE cannot set back under a UNIQUE or
 * EXCLUDE constraint that is not deferrable: PostgreSQL checks it row by row, and the first row set back collides
 * with the second before that one moves. Such rows are deleted and inserted again from the backup instead, in the
 * revert's transaction, which cannot collide (the rows leave before any comes back). Only where a delete does
 * nothing but remove the rows: no foreign key to them acts or checks at once (ON DELETE CASCADE, SET NULL or
 * RESTRICT would change or refuse rows of other tables; one not deferred would refuse it), and no trigger or rule
 * of theirs is on (a rule could turn the delete into nothing, a trigger would see a delete that is an undo).
 * Otherwise the UPDATE's own error stands, and the revert rolls back as it would have.
 */
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';

/** unique_violation, exclusion_violation: what a row set back before another leaves its value gives. */
const COLLISIONS = new Set(['23505', '23P01']);

/** The statements of one table's restore that this needs. */
export interface Replaceable {
  /** Sets the rows the backup has back to its values. */
  readonly update?: string;
  /** Deletes the rows the backup has with other values (matched on the key). */
  readonly deleteChanged?: string;
  /** Inserts the backup's rows the table lacks. */
  readonly insert: string;
}

/**
 * `DELETE` of the rows of `own` (`t`) that `source` (`b`) has, matched by `match`, with a value of `columns` that
 * differs. Compared as text: a column of a type without an equality operator (json) is compared too, and two values
 * that print the same are the same value restored.
 */
export function deleteChangedRows(
  own: string,
  source: string,
  match: string,
  columns: readonly string[],
): string | undefined {
  if (columns.length === 0) return undefined;
  const differs = columns
    .map((c) => `t.${quoteIdent(c)}::text IS DISTINCT FROM b.${quoteIdent(c)}::text`)
    .join(' OR ');
  return `DELETE FROM ${own} t USING ${source} b WHERE ${match} AND (${differs})`;
}

/**
 * Runs `r.update`; when it collides under a constraint that is not deferrable and the rows can be replaced safely
 * (see the module's comment), deletes the changed rows and inserts them again from the backup instead.
 */
export async function updateOrReplace(
  tx: Database,
  schema: string,
  table: string,
  r: Replaceable,
): Promise<void> {
  if (!r.update) return;
  await tx.query('SAVEPOINT flowstate_restore_update');
  try {
    await tx.query(r.update);
  } catch (error) {
    if (!r.deleteChanged || !COLLISIONS.has(String((error as { code?: unknown }).code))) throw error;
    await tx.query('ROLLBACK TO SAVEPOINT flowstate_restore_update');
    if (!(await replaceable(tx, qualifiedName(schema, table)))) throw error;
    await tx.query(r.deleteChanged);
    await tx.query(r.insert);
  }
  await tx.query('RELEASE SAVEPOINT flowstate_restore_update');
}

/**
 * Whether deleting rows of `table` (or of its partitions) and inserting them again is seen by nothing else: every
 * foreign key to them is NO ACTION and deferred (checked at the restore's end, once the rows are back), and none of
 * their triggers or rules is on.
 */
async function replaceable(tx: Database, table: string): Promise<boolean> {
  const { rows } = await tx.query<{ blocked: boolean }>(
    // pg_partition_tree gives nothing for a table that is neither partitioned nor a partition: the table itself too.
    `WITH tree AS (SELECT to_regclass($1)::oid AS relid UNION SELECT relid FROM pg_partition_tree(to_regclass($1)))
     SELECT to_regclass($1) IS NULL
         OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'f' AND k.confrelid IN (SELECT relid FROM tree)
                      AND (k.confdeltype <> 'a' OR NOT k.condeferred))
         OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid IN (SELECT relid FROM tree) AND NOT g.tgisinternal
                      AND g.tgenabled <> 'D')
         OR EXISTS (SELECT 1 FROM pg_rewrite w WHERE w.ev_class IN (SELECT relid FROM tree)
                      AND w.rulename <> '_RETURN' AND w.ev_enabled <> 'D') AS blocked`,
    [table],
  );
  return rows[0]?.blocked === false;
}
