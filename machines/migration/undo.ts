/**
 * The DDL that takes a schema from its current shape back to an earlier snapshot, in three phases: `drop` (what
 * the migration added or changed goes away), `create` (what it removed comes back, empty), then the backed-up
 * rows are restored, then `finish` (NOT NULL, defaults, constraints, indexes and views, which need the rows
 * back first). Every name goes through `quoteIdent`; definitions come from the catalog of the earlier snapshot.
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { Snapshot, SnapshotTable } from './snapshot.js';
import { alterColumns, createTable, identityCatchUp } from './undo-columns.js';
import { undoDomains } from './undo-domains.js';
import { undoEnums } from './undo-enums.js';
import { byName, type UndoPlan } from './undo-plan.js';
import { undoSecurity } from './undo-security.js';
import { undoSequences } from './undo-sequences.js';
import { undoTriggers } from './undo-triggers.js';

/** Constraints that others may depend on come back first; foreign keys last, once their targets exist. */
const CONSTRAINT_ORDER = ['p', 'u', 'x', 'c', 'f'];
const constraintRank = (type: string) => {
  const rank = CONSTRAINT_ORDER.indexOf(type);
  return rank === -1 ? CONSTRAINT_ORDER.length : rank;
};

/** A constraint that never checked the rows already there: rows restored by UPDATE would be checked against it. */
const notValid = (definition: string) => /\bNOT VALID$/.test(definition);

/**
 * Plans the DDL from `current` back to `before` (both snapshots of the same schema, already scoped). On the
 * `restored` tables, NOT VALID constraints are dropped for the restore and added back (NOT VALID) after it, so
 * old rows that break them can come back as they were.
 */
export function undoPlan(current: Snapshot, before: Snapshot, restored: readonly string[] = []): UndoPlan {
  const schema = before.schema;
  const rel = (name: string) => qualifiedName(schema, name);
  const plan: UndoPlan = { drop: [], create: [], finish: [], recreated: [] };
  const now = byName(current.tables);
  const then = byName(before.tables);

  // Views first: a view can depend on the columns and tables that change below.
  const viewsThen = byName(before.views);
  for (const view of current.views) {
    const old = viewsThen.get(view.name);
    if (old?.definition === view.definition && old.materialized === view.materialized) continue;
    plan.drop.push(`DROP ${view.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${rel(view.name)}`);
  }

  // A partition the migration attached (or attached elsewhere) is detached first; one it detached is attached again
  // (see below).
  for (const table of current.tables) {
    const old = then.get(table.name);
    // A partition the migration created is detached before it is dropped: a foreign key to its parent keeps it
    // from being dropped while attached.
    if (!table.partitionOf || (old && (old.partitionOf === undefined || samePartition(table, old)))) continue;
    const parent = qualifiedName(table.partitionOf.schema ?? schema, table.partitionOf.name);
    plan.drop.push(`ALTER TABLE ${parent} DETACH PARTITION ${rel(table.name)}`);
  }
  // Inheritance the migration added goes first too; inheritance it removed comes back once the columns are back.
  // Parents are kept in order (columns merge in it): past the parents both have in the same places, every parent is
  // let go and the old ones inherited again in their order.
  for (const table of current.tables) {
    const old = then.get(table.name);
    if (!old?.inherits || !table.inherits) continue;
    for (const parent of table.inherits.slice(samePrefix(table.inherits, old.inherits)))
      plan.drop.push(`ALTER TABLE ${rel(table.name)} NO INHERIT ${rel(parent)}`);
  }

  // The indexes the drop phase drops, with the partitions' indexes attached to them (which go with them, even one that
  // existed before the migration attached it): made again in `finish`.
  const gone = new Set<string>();
  for (const table of current.tables) {
    const old = then.get(table.name);
    if (!old) continue;
    const oldConstraints = byName(old.constraints);
    const lifted = (k: { definition: string }) => restored.includes(table.name) && notValid(k.definition);
    // A constraint the table inherits goes with its parent's (dropping it alone is refused).
    const added = table.constraints
      .filter((k) => !k.inherited)
      .filter((k) => oldConstraints.get(k.name)?.definition !== k.definition || lifted(k))
      .sort((a, b) => constraintRank(b.type) - constraintRank(a.type));
    for (const k of added)
      plan.drop.push(`ALTER TABLE ${rel(table.name)} DROP CONSTRAINT ${quoteIdent(k.name)}`);
    const oldIndexes = byName(old.indexes);
    for (const index of table.indexes) {
      // A partition's index attached to its parent's goes with it (dropping it alone is refused).
      if (index.parentIndex) continue;
      if (oldIndexes.get(index.name)?.definition !== index.definition) {
        plan.drop.push(`DROP INDEX ${rel(index.name)}`);
        gone.add(index.name);
      }
    }
  }
  const attached = current.tables.flatMap((t) => t.indexes).filter((i) => i.parentIndex);
  for (let grew = true; grew; ) {
    grew = false;
    for (const i of attached) {
      if (i.parentIndex && gone.has(i.parentIndex) && !gone.has(i.name)) {
        gone.add(i.name);
        grew = true;
      }
    }
  }
  const addedTables = current.tables.filter((t) => !then.has(t.name)).map((t) => rel(t.name));
  // One statement: tables the migration created may reference each other.
  if (addedTables.length > 0) plan.drop.push(`DROP TABLE ${addedTables.join(', ')}`);

  // A column a table inherits changes with its parent's; its own NOT NULL is dropped after the parents' (which
  // recurse to it: a partition's cannot be dropped while its parent's holds).
  const inheritedLast: string[] = [];
  const remade = typesRemade(current, before);
  for (const old of before.tables) {
    const table = now.get(old.name);
    if (table) alterColumns(plan, rel(old.name), table, old, inheritedLast, remade);
    else {
      plan.recreated.push(old.name);
      plan.create.push(createTable(rel(old.name), old));
      for (const column of old.columns.filter((c) => c.identity !== ''))
        plan.finish.push(identityCatchUp(rel(old.name), column));
      for (const column of old.columns.filter((c) => c.notNull && c.identity === '' && c.generated === '')) {
        plan.finish.push(`ALTER TABLE ${rel(old.name)} ALTER COLUMN ${quoteIdent(column.name)} SET NOT NULL`);
      }
    }
  }
  plan.drop.push(...inheritedLast);
  // A table made again inherits once its NOT NULL and constraints are back (INHERIT requires its parents').
  const inheritLater: string[] = [];
  for (const old of before.tables) {
    const table = now.get(old.name);
    if (!old.inherits || (table && !table.inherits)) continue;
    for (const parent of old.inherits.slice(table?.inherits ? samePrefix(table.inherits, old.inherits) : 0))
      (table ? plan.create : inheritLater).push(`ALTER TABLE ${rel(old.name)} INHERIT ${rel(parent)}`);
  }

  const depthOf = (name: string): number => {
    const parent = then.get(name)?.partitionOf;
    return parent && parent.schema === null && parent.name !== name ? 1 + depthOf(parent.name) : 0;
  };
  const constraints = before.tables.flatMap((old) => {
    const table = now.get(old.name);
    const existing = byName(table?.constraints ?? []);
    const lifted = (k: { definition: string }) => restored.includes(old.name) && notValid(k.definition);
    // An inherited constraint comes back with its parent's; a table made again gets it as its own (a partition must
    // have its parent's CHECKs to be attached, and the attach makes them inherited). A partition's key is added
    // first, under its own name, and the parent's takes it over: made by the parent's, it would get PostgreSQL's
    // name for it, not the one it had (a partition made with its own key, then attached).
    const ownName = (k: { inherited?: boolean | undefined; type: string }) =>
      !k.inherited || (old.partitionOf && (k.type === 'p' || k.type === 'u'));
    return old.constraints
      .filter((k) => !table || ownName(k))
      .filter((k) => existing.get(k.name)?.definition !== k.definition || lifted(k))
      .map((k) => ({ table: old.name, depth: depthOf(old.name), ...k }));
  });
  // Keys first (others depend on them), deepest partitions first within a kind.
  constraints.sort((a, b) => constraintRank(a.type) - constraintRank(b.type) || b.depth - a.depth);
  for (const k of constraints) {
    plan.finish.push(`ALTER TABLE ${rel(k.table)} ADD CONSTRAINT ${quoteIdent(k.name)} ${k.definition}`);
  }
  plan.finish.push(...inheritLater);
  for (const old of before.tables) {
    const existing = byName(now.get(old.name)?.indexes ?? []);
    for (const index of old.indexes) {
      const was = existing.get(index.name);
      if (was?.definition !== index.definition || gone.has(index.name)) plan.finish.push(index.definition);
    }
  }
  for (const old of before.tables) {
    const table = now.get(old.name);
    if (!old.partitionOf || (table && (table.partitionOf === undefined || samePartition(table, old))))
      continue;
    const parent = qualifiedName(old.partitionOf.schema ?? schema, old.partitionOf.name);
    // A table that still exists is attached before the rows are restored (rows restored into its parent while it
    // is detached would go to another partition, or fail), and so is one made again whose parent is made again too
    // (the parent's backup holds its rows); another one made again, after its rows and indexes are back.
    const parentRemade = old.partitionOf.schema === null && plan.recreated.includes(old.partitionOf.name);
    (table || parentRemade ? plan.create : plan.finish).push(
      `ALTER TABLE ${parent} ATTACH PARTITION ${rel(old.name)} ${old.partitionOf.bound}`,
    );
  }
  // Partitions' indexes made again are attached to their parent's (made again ON ONLY, it stays invalid until every
  // partition's is), once the tables are partitions again; deepest first, in reverse order of the snapshot's
  // definitions (a partitioned partition's `ON ONLY` index after its partitions').
  const attach: string[] = [];
  for (const old of before.tables) {
    const existing = byName(now.get(old.name)?.indexes ?? []);
    for (const index of old.indexes) {
      const was = existing.get(index.name);
      if (!index.parentIndex) continue;
      if (
        was?.definition === index.definition &&
        was.parentIndex === index.parentIndex &&
        !gone.has(index.name)
      )
        continue;
      const statement = `ALTER INDEX ${rel(index.parentIndex)} ATTACH PARTITION ${rel(index.name)}`;
      if (/ ON ONLY /.test(index.definition)) attach.push(statement);
      else attach.unshift(statement);
    }
  }
  plan.finish.push(...attach);
  const viewsNow = byName(current.views);
  for (const view of before.views) {
    const existing = viewsNow.get(view.name);
    if (existing?.definition === view.definition && existing.materialized === view.materialized) continue;
    const kind = view.materialized ? 'MATERIALIZED VIEW' : 'VIEW';
    plan.finish.push(`CREATE ${kind} ${rel(view.name)} AS ${view.definition.trim().replace(/;$/, '')}`);
  }
  undoTriggers(plan, current, before, rel);
  // Types and sequences are made again before the tables (a column's type, a default's nextval), dropped after them:
  // `create` starts with the enum types, then the sequences, then the domains (over an enum, or calling nextval in
  // a default), each call putting its own first; `finish` drops domains before the enum types they may be over.
  // Privileges and policies come last, once every object they are on is back.
  undoDomains(plan, current, before);
  undoSequences(plan, current, before);
  undoEnums(plan, current, before);
  undoSecurity(plan, current, before);
  return plan;
}

/**
 * Whether a column type (as `format_type` prints it: `mood`, `s.mood`, `"S"."Mood"[]`) is an enum type or a domain of
 * the schema that the revert makes again: a column set back to it is retyped once it exists (`create`), not in `drop`.
 */
function typesRemade(current: Snapshot, before: Snapshot): (type: string) => boolean {
  const missing = <T extends { name: string }>(
    now: readonly T[] | undefined,
    then: readonly T[] | undefined,
  ) => (now && then ? then.filter((x) => !now.some((y) => y.name === x.name)).map((x) => x.name) : []);
  const names = new Set([
    ...missing(current.enums, before.enums),
    ...missing(current.domains, before.domains),
  ]);
  const unquote = (part: string) => (part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part);
  return (type) => {
    const parts = /^(?:("(?:[^"]|"")+"|[^."]+)\.)?("(?:[^"]|"")+"|[^."]+)(?:\[\])*$/.exec(type);
    if (!parts?.[2] || names.size === 0) return false;
    return (parts[1] === undefined || unquote(parts[1]) === before.schema) && names.has(unquote(parts[2]));
  };
}

/** How many leading entries two lists share. */
function samePrefix(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** Whether a table is a partition of the same parent, with the same bound, in both snapshots. */
function samePartition(a: SnapshotTable, b: SnapshotTable): boolean {
  const x = a.partitionOf ?? null;
  const y = b.partitionOf ?? null;
  return (
    x === y || (x !== null && y !== null && x.schema === y.schema && x.name === y.name && x.bound === y.bound)
  );
}
