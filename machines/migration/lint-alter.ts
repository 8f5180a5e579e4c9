/**
 * The lock-safety rules of one `ALTER TABLE` and of column types (squawk's and strong_migrations' rules): what
 * rewrites the table, what scans it under an ACCESS EXCLUSIVE lock, what breaks running clients, and the safe
 * way to do each.
 */
import type { AlterAction } from './alter.js';
import type { SnapshotTable } from './snapshot.js';

/** PostgreSQL's lock names, weakest first among those DDL takes. */
export type Lock =
  | 'ACCESS EXCLUSIVE'
  | 'SHARE ROW EXCLUSIVE'
  | 'SHARE'
  | 'SHARE UPDATE EXCLUSIVE'
  | 'ROW EXCLUSIVE';

/** What the rules report through. */
export interface Helpers {
  add(severity: 'error' | 'danger' | 'warning' | 'info', rule: string, message: string): void;
  lock(table: string, level: Lock): void;
  size(table: string): string;
}

/** Lints the actions of one `ALTER TABLE` on `table` (undefined when the migration creates it); returns the rewrites. */
export function alterTable(
  name: string,
  table: SnapshotTable | undefined,
  actions: readonly AlterAction[],
  h: Helpers,
): number {
  let rewrites = 0;
  let level: Lock = 'SHARE UPDATE EXCLUSIVE';
  const raise = (to: Lock) => {
    const order: Lock[] = ['SHARE UPDATE EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'ACCESS EXCLUSIVE'];
    if (order.indexOf(to) > order.indexOf(level)) level = to;
  };
  const populated = table !== undefined;
  for (const action of actions) {
    switch (action.kind) {
      case 'add-column':
        raise('ACCESS EXCLUSIVE');
        typeAdvice(`${name}.${action.column}`, action.type, h);
        if (populated && action.perRow) {
          rewrites++;
          h.add(
            'warning',
            'table-rewrite',
            `Adding ${action.column} with a per-row value (${action.default ?? action.type}) rewrites ${h.size(name)} under an ACCESS EXCLUSIVE lock; add it without a default, then backfill in batches`,
          );
        } else if (populated && action.unknownDefault) {
          h.add(
            'warning',
            'volatile-default',
            `The default ${action.default} of ${action.column} may be volatile: then every row of ${h.size(name)} is rewritten under an ACCESS EXCLUSIVE lock`,
          );
        }
        if (populated && action.notNull && action.default === null && !action.perRow) {
          h.add(
            'warning',
            'not-null-without-default',
            `${action.column} is NOT NULL without a default: this fails if ${name} has rows`,
          );
        }
        break;
      case 'drop-column':
        raise('ACCESS EXCLUSIVE');
        h.add('danger', 'drop-column', `Drops ${name}.${action.column} and its values`);
        if (action.cascade) cascades(name, h);
        break;
      case 'alter-type': {
        raise('ACCESS EXCLUSIVE');
        const from = table?.columns.find((c) => c.name === action.column)?.type;
        if (from !== undefined && !action.using && binaryCoercible(from, action.type)) {
          h.add(
            'info',
            'binary-coercible',
            `${name}.${action.column} ${from} → ${action.type} changes only the catalog (no rewrite, no scan)`,
          );
          break;
        }
        rewrites++;
        if (from !== undefined && widening(from, action.type)) {
          h.add(
            'warning',
            'table-rewrite',
            `${name}.${action.column} ${from} → ${action.type} rewrites ${h.size(name)} and its indexes under an ACCESS EXCLUSIVE lock; on a large table add a bigint column, backfill it in batches and swap`,
          );
        } else {
          h.add(
            'danger',
            'alter-type',
            `Changes ${name}.${action.column}${from ? ` from ${from}` : ''} to ${action.type}: values may be cast with loss or rejected`,
          );
          h.add(
            'warning',
            'table-rewrite',
            `Changing a column type rewrites ${h.size(name)} and its indexes`,
          );
        }
        break;
      }
      case 'set-not-null':
        raise('ACCESS EXCLUSIVE');
        if (populated)
          h.add(
            'warning',
            'full-scan-under-lock',
            `SET NOT NULL scans ${h.size(name)} while holding an ACCESS EXCLUSIVE lock; add CHECK (${action.column} IS NOT NULL) NOT VALID, VALIDATE it in another transaction, then SET NOT NULL (PostgreSQL 12+ skips the scan)`,
          );
        break;
      case 'add-constraint':
        raise(action.constraint === 'foreign-key' ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE');
        if (
          populated &&
          (action.constraint === 'check' || action.constraint === 'foreign-key') &&
          !action.notValid
        ) {
          h.add(
            'warning',
            'validating-constraint',
            `Checks every row of ${h.size(name)} under the lock; add it NOT VALID, then VALIDATE CONSTRAINT in another transaction`,
          );
        }
        if (
          populated &&
          (action.constraint === 'unique' || action.constraint === 'primary-key') &&
          !action.usingIndex
        ) {
          h.add(
            'warning',
            'index-build-under-lock',
            `Builds a unique index on ${h.size(name)} while holding an ACCESS EXCLUSIVE lock; CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... ${action.constraint === 'unique' ? 'UNIQUE' : 'PRIMARY KEY'} USING INDEX`,
          );
        }
        if (action.constraint === 'exclude' || action.constraint === 'other') {
          h.add(
            'danger',
            'unanalysed',
            `ADD CONSTRAINT (${action.constraint}) on ${name} is not analysed (it may build an index or scan ${h.size(name)} under an ACCESS EXCLUSIVE lock, and fail on existing rows): it needs an approval`,
          );
        }
        break;
      case 'validate-constraint':
        // VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on while it scans.
        break;
      case 'rename-column':
      case 'rename-table':
        raise('ACCESS EXCLUSIVE');
        h.add(
          'warning',
          'rename',
          `Renaming ${action.kind === 'rename-table' ? `table ${name}` : `${name}.${action.column}`} to ${action.to} breaks every running client that uses the old name; add the new name beside the old (a column kept in sync, or a view), move the clients, then drop the old`,
        );
        break;
      case 'add-identity':
        raise('ACCESS EXCLUSIVE');
        break;
      case 'drop-not-null':
      case 'set-default':
      case 'drop-default':
        raise('ACCESS EXCLUSIVE');
        break;
      case 'drop-constraint':
        raise('ACCESS EXCLUSIVE');
        h.add(
          'danger',
          'drop-constraint',
          `Drops a constraint of ${name}: what it kept out (duplicates, orphans, invalid values) can come in from then on`,
        );
        if (action.cascade) cascades(name, h);
        break;
      case 'other':
        if (action.text.endsWith(' CONCURRENTLY')) {
          h.add(
            'error',
            'non-transactional',
            `ALTER TABLE ${name} DETACH PARTITION ... CONCURRENTLY cannot run inside a transaction: detach without CONCURRENTLY (an approval is asked), or run it yourself`,
          );
          break;
        }
        // DETACH PARTITION, SET UNLOGGED, DISABLE TRIGGER, ENABLE ROW LEVEL SECURITY...: each can hide or lose rows,
        // or stop what protects them, and the lint cannot tell which is harmless: an approval, as docs/templates.md says.
        raise('ACCESS EXCLUSIVE');
        h.add(
          'danger',
          'unanalysed',
          `ALTER TABLE ${name} ${action.text} is not analysed (it can hide or lose rows, or stop what protects them): it needs an approval`,
        );
        break;
    }
  }
  h.lock(name, level);
  return rewrites;
}

/**
 * `CASCADE` drops every object that depends on what is dropped, in any schema (views, foreign keys of other tables),
 * which neither the dry run's copy of this schema nor the report's schema diff sees: said in the approval's words.
 */
function cascades(name: string, h: Pick<Helpers, 'add'>): void {
  h.add(
    'danger',
    'cascade',
    `CASCADE also drops every object that depends on it, in any schema (views, foreign keys of other tables); the dry run and the schema diff of ${name}'s schema do not show those: drop them by name first`,
  );
}

/** Advice on a new column's type: bigint over int for keys, identity over serial, timestamptz over timestamp. */
export function typeAdvice(column: string, type: string, h: Pick<Helpers, 'add'>): void {
  if (type === 'serial' || type === 'serial4' || type === 'smallserial' || type === 'serial2') {
    h.add(
      'info',
      'prefer-identity',
      `${column} is ${type}: prefer bigint GENERATED ALWAYS AS IDENTITY (a 32-bit serial overflows at 2.1 billion, and identity keeps the sequence with the column)`,
    );
  } else if (type === 'bigserial' || type === 'serial8') {
    h.add('info', 'prefer-identity', `${column} is ${type}: prefer bigint GENERATED ALWAYS AS IDENTITY`);
  } else if ((type === 'integer' || type === 'smallint') && /(^|[._])id$|_id$/.test(column)) {
    h.add(
      'info',
      'prefer-bigint',
      `${column} is ${type}: an id column overflows at ${type === 'integer' ? '2.1 billion' : '32767'}; prefer bigint (changing it later rewrites the table)`,
    );
  }
  if (type === 'timestamp without time zone') {
    h.add(
      'info',
      'prefer-timestamptz',
      `${column} is timestamp without time zone: prefer timestamptz (a timestamp's meaning depends on the session's time zone)`,
    );
  }
}

/** `character varying(120)` as `{ base: 'character varying', mods: [120] }`. */
function typeParts(type: string): { base: string; mods: number[] } {
  const m = /^(.*?)\s*(?:\(([\d,\s]+)\))?$/.exec(type.trim());
  return { base: m?.[1] ?? type, mods: m?.[2] ? m[2].split(',').map((s) => Number(s.trim())) : [] };
}

/**
 * Whether PostgreSQL changes `from` to `to` in the catalog only: varchar(n) → varchar(m ≥ n) or unbounded,
 * varchar → text, text → varchar without a limit, numeric(p, s) → numeric(q ≥ p, s) or unbounded, bit varying
 * likewise. Anything else is rewritten (and perhaps cast with loss).
 */
function binaryCoercible(from: string, to: string): boolean {
  const a = typeParts(from);
  const b = typeParts(to);
  const text = (t: string) => t === 'text' || t === 'character varying';
  if (text(a.base) && text(b.base)) {
    if (b.mods.length === 0) return true;
    return a.base === 'character varying' && a.mods.length > 0 && (b.mods[0] ?? 0) >= (a.mods[0] ?? 0);
  }
  if (a.base === b.base && (a.base === 'numeric' || a.base === 'bit varying' || a.base === 'varbit')) {
    if (b.mods.length === 0) return true;
    if (a.mods.length === 0) return false;
    return (b.mods[0] ?? 0) >= (a.mods[0] ?? 0) && (b.mods[1] ?? 0) === (a.mods[1] ?? 0);
  }
  return a.base === b.base && a.mods.join() === b.mods.join();
}

/** Integer widenings: no value is lost, but the table is rewritten. */
function widening(from: string, to: string): boolean {
  const rank = ['smallint', 'integer', 'bigint'];
  const a = rank.indexOf(typeParts(from).base);
  const b = rank.indexOf(typeParts(to).base);
  return a !== -1 && b !== -1 && b > a;
}
