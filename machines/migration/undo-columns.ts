/**
 * A revert's column changes: columns the migration added, dropped or changed on a table both snapshots have, and
 * the columns of a table made again, with identities (their sequence options as recorded) moved past the restored
 * rows.
 */
import { quoteIdent } from '../../src/db/index.js';
import type { SnapshotTable } from './snapshot.js';
import { type IdentitySequence, identityOptions, identityText } from './snapshot-sequences.js';
import { byName, type UndoPlan } from './undo-plan.js';

type Column = SnapshotTable['columns'][number];

/**
 * An identity column made again has a new sequence, starting below the restored values: it is moved past them (the
 * next row would collide with a restored one), in the direction it counts, or to its start when there are none.
 */
export function identityCatchUp(table: string, column: Column): string {
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
  const c = quoteIdent(column.name);
  const sequence = `pg_get_serial_sequence(${literal(table)}, ${literal(column.name)})`;
  const options = column.identitySequence;
  // A snapshot that did not record the options: the sequence is made with PostgreSQL's defaults.
  if (!options)
    return `SELECT setval(${sequence}, COALESCE(max(${c}), 1), max(${c}) IS NOT NULL) FROM ${table}`;
  // Within the sequence's bounds: a value put there by hand beyond them is skipped, never handed out.
  const [last, bound] = BigInt(options.increment) > 0n ? ['max', 'GREATEST'] : ['min', 'LEAST'];
  const limit = BigInt(options.increment) > 0n ? options.min : options.max;
  const value = `${last}(${c})`;
  return `SELECT setval(${sequence}, CASE WHEN ${value} IS NULL THEN ${options.start} ELSE ${bound}(${value}, ${limit}) END, ${value} IS NOT NULL) FROM ${table}`;
}

/** `GENERATED ALWAYS AS IDENTITY (START WITH ...)`, with the sequence options when the snapshot recorded them. */
function identityClause(column: Column): string {
  const kind = column.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT';
  const options = column.identitySequence ? ` (${identityOptions(column.identitySequence)})` : '';
  return `GENERATED ${kind} AS IDENTITY${options}`;
}

/** `SET START WITH ... SET INCREMENT BY ...`: an identity's sequence options, as `ALTER COLUMN` sets them. */
function setIdentityOptions(s: IdentitySequence): string {
  return `SET START WITH ${s.start} SET INCREMENT BY ${s.increment} SET MINVALUE ${s.min} SET MAXVALUE ${s.max} SET CACHE ${s.cache} SET ${s.cycle ? 'CYCLE' : 'NO CYCLE'}`;
}

/** Column changes on a table that both snapshots have. */
export function alterColumns(
  plan: UndoPlan,
  table: string,
  now: SnapshotTable,
  old: SnapshotTable,
  inheritedLast: string[],
  /** Whether a type is one the revert makes again (a column set back to it is retyped once it exists). */
  remade: (type: string) => boolean = () => false,
): void {
  const then = byName(old.columns);
  const current = byName(now.columns);
  const alter = (column: string, action: string) =>
    `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column)} ${action}`;
  // Defaults are set on this table alone: on a parent they would recurse to children whose own defaults (in the
  // before snapshot) differ, or that are out of the revert's scope. So is a dropped NOT NULL, except on a
  // partitioned table, where PostgreSQL refuses ONLY (its partitions' NOT NULL come back below).
  const only = (column: string, action: string) =>
    `ALTER TABLE ONLY ${table} ALTER COLUMN ${quoteIdent(column)} ${action}`;
  const dropNotNull = (column: string) =>
    now.partitionKey === null ? only(column, 'DROP NOT NULL') : alter(column, 'DROP NOT NULL');
  // An inherited column is added, dropped and retyped by its parent's statements, which recurse to it; its NOT NULL
  // and default are set again here too (harmless where the parent's already did).
  for (const column of now.columns) {
    if (!then.has(column.name) && !column.inherited)
      plan.drop.push(`ALTER TABLE ${table} DROP COLUMN ${quoteIdent(column.name)}`);
  }
  for (const column of old.columns) {
    const existing = current.get(column.name);
    const inherited = column.inherited === true || existing?.inherited === true;
    if (!existing) {
      // Re-added nullable and without default: the backup fills it, then `finish` restores the rules.
      if (!inherited) plan.create.push(`ALTER TABLE ${table} ADD COLUMN ${columnDefinition(column, false)}`);
      if (!inherited && column.identity !== '') plan.finish.push(identityCatchUp(table, column));
      if (column.default !== null && column.generated === '') {
        plan.finish.push(only(column.name, `SET DEFAULT ${column.default}`));
      }
      if (column.notNull && column.generated === '') plan.finish.push(alter(column.name, 'SET NOT NULL'));
      continue;
    }
    if (existing.type !== column.type && !inherited) {
      (remade(column.type) ? plan.create : plan.drop).push(
        alter(column.name, `TYPE ${column.type} USING ${quoteIdent(column.name)}::${column.type}`),
      );
    }
    if (existing.notNull && !column.notNull)
      (inherited ? inheritedLast : plan.drop).push(dropNotNull(column.name));
    // An inherited NOT NULL is set again even if unchanged: a parent's DROP NOT NULL recursed to it.
    if (column.notNull && (!existing.notNull || inherited))
      plan.finish.push(alter(column.name, 'SET NOT NULL'));
    if (existing.default !== column.default && column.generated === '' && column.identity === '') {
      plan.finish.push(
        only(column.name, column.default === null ? 'DROP DEFAULT' : `SET DEFAULT ${column.default}`),
      );
    }
    if (existing.identity !== column.identity && !inherited)
      undoIdentity(plan, table, column, existing, alter);
    // Sequence options set back (after a type set back, which changes the sequence's type and may change its bounds).
    else if (
      column.identity !== '' &&
      column.identitySequence &&
      existing.identitySequence &&
      identityText(column.identitySequence) !== identityText(existing.identitySequence)
    )
      plan.finish.push(alter(column.name, setIdentityOptions(column.identitySequence)));
  }
}

/**
 * An identity the migration added, dropped (`DROP IDENTITY`) or turned between ALWAYS and BY DEFAULT, set back. One
 * made again gets a new sequence, moved past the column's values once the rows are back (its old position, beyond
 * them after deletes, is not recorded).
 */
function undoIdentity(
  plan: UndoPlan,
  table: string,
  column: Column,
  existing: Column,
  alter: (column: string, action: string) => string,
): void {
  if (column.identity === '') {
    plan.drop.push(alter(column.name, 'DROP IDENTITY'));
  } else if (existing.identity === '') {
    // Plain now, maybe with a default of its own (an identity has none): that goes first; its NOT NULL is set above.
    if (existing.default !== null) plan.drop.push(alter(column.name, 'DROP DEFAULT'));
    plan.finish.push(alter(column.name, `ADD ${identityClause(column)}`));
    plan.finish.push(identityCatchUp(table, column));
  } else {
    plan.finish.push(
      alter(column.name, `SET GENERATED ${column.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'}`),
    );
    if (
      column.identitySequence &&
      existing.identitySequence &&
      identityText(column.identitySequence) !== identityText(existing.identitySequence)
    )
      plan.finish.push(alter(column.name, setIdentityOptions(column.identitySequence)));
  }
}

/** `"name" type [GENERATED ...] [DEFAULT ...]`; NOT NULL is left to the caller. */
function columnDefinition(column: Column, withDefault: boolean): string {
  const parts = [quoteIdent(column.name), column.type];
  if (column.generated === 's' && column.default !== null) {
    parts.push(`GENERATED ALWAYS AS (${column.default}) STORED`);
  } else if (column.identity !== '') {
    parts.push(identityClause(column));
  } else if (withDefault && column.default !== null) {
    parts.push(`DEFAULT ${column.default}`);
  }
  return parts.join(' ');
}

/**
 * `CREATE TABLE` with the columns and defaults, partitioned as it was; NOT NULL, constraints and indexes come in
 * `finish`, inheritance in `create` after it.
 */
export function createTable(name: string, table: SnapshotTable): string {
  const key = table.partitionKey ? ` PARTITION BY ${table.partitionKey}` : '';
  return `CREATE TABLE ${name} (${table.columns.map((c) => columnDefinition(c, true)).join(', ')})${key}`;
}
