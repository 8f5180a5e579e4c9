/**
 * A schema's shape as the migration compares it: tables with their columns, constraints and indexes, and views.
 * Two snapshots are equal when the schema is the same; column order, sizes and statistics are left out because
 * they change without the schema changing (a column re-added by a revert comes last, and that is fine).
 */
import { z } from 'zod';
import type { Database } from '../../src/db/index.js';
import { COLUMNS, CONSTRAINTS, INDEXES, RELATIONS } from './snapshot-queries.js';

/** One column. `generated` is `s` for a stored generated column, `identity` is `a`/`d` for an identity. */
const SnapshotColumnSchema = z.object({
  name: z.string(),
  type: z.string(),
  notNull: z.boolean(),
  default: z.string().nullable(),
  generated: z.string(),
  identity: z.string(),
  /**
   * Inherited from a parent (every column of a partition; declared by the table too or not): it changes with its
   * parent's, and PostgreSQL refuses to drop or retype it on the table alone. Optional (snapshots stored before
   * it was recorded have none); not compared.
   */
  inherited: z.boolean().optional(),
});

/** One constraint, with its definition as `pg_get_constraintdef` prints it. */
const SnapshotConstraintSchema = z.object({
  name: z.string(),
  type: z.string(),
  definition: z.string(),
  /** A partition's copy of its parent's constraint, or an inherited CHECK: it comes and goes with the parent's. Not compared. */
  inherited: z.boolean().optional(),
});

/** One index that no constraint owns (constraint indexes come and go with their constraint). */
const SnapshotIndexSchema = z.object({
  name: z.string(),
  definition: z.string(),
  /**
   * The index (of the parent table, in the same schema) this partition's index is attached to, or null: made by an
   * index on the parent, it goes with it, and one made again is attached again. Optional, as `partitionOf`.
   */
  parentIndex: z.string().nullable().optional(),
});

/** One table. */
export const SnapshotTableSchema = z.object({
  name: z.string(),
  /** The planner's estimate, for lock messages; not compared. */
  estimatedRows: z.number(),
  primaryKey: z.array(z.string()),
  columns: z.array(SnapshotColumnSchema),
  constraints: z.array(SnapshotConstraintSchema),
  indexes: z.array(SnapshotIndexSchema),
  /**
   * The partitioned table this one is a partition of (its schema null when it is the snapshot's own: the dry run's
   * copy lives in another schema), and its bound (`FOR VALUES ...`), or null. Optional: snapshots taken before it
   * was recorded (kept in runs stored then) have none, and are compared without it.
   */
  partitionOf: z
    .object({ schema: z.string().nullable(), name: z.string(), bound: z.string() })
    .nullable()
    .optional(),
  /** A partitioned table's key (`RANGE (at)`, as `pg_get_partkeydef` prints it), or null. Optional, as `partitionOf`. */
  partitionKey: z.string().nullable().optional(),
  /**
   * The tables of the same schema it inherits from (`INHERITS`, not partitions), in order. Optional, as
   * `partitionOf`; parents in another schema are left out (the dry run's copy does not copy them).
   */
  inherits: z.array(z.string()).optional(),
  /**
   * The user's triggers and rules on it (names): a write to it runs them, and what they do is not checked. Optional;
   * not compared.
   */
  triggers: z.array(z.string()).optional(),
  /**
   * The user's triggers (a partition's clones of its parent's left out: they go with it) and rules, as
   * `pg_get_triggerdef` / `pg_get_ruledef` print them, with their state (`O` enabled, `D` disabled, `A` always, `R`
   * replica): compared, and a revert makes them again as they were. Optional: snapshots taken before it was recorded
   * have none (and the dry run's copy, which has no triggers), and are compared without it.
   */
  triggerDefinitions: z
    .array(
      z.object({
        name: z.string(),
        kind: z.enum(['trigger', 'rule']),
        definition: z.string(),
        enabled: z.string(),
      }),
    )
    .optional(),
});

/** One view or materialized view. */
const SnapshotViewSchema = z.object({
  name: z.string(),
  materialized: z.boolean(),
  definition: z.string(),
});

/** A schema's shape. */
export const SnapshotSchema = z.object({
  schema: z.string(),
  tables: z.array(SnapshotTableSchema),
  views: z.array(SnapshotViewSchema),
});

/** A schema's shape. */
export type Snapshot = z.infer<typeof SnapshotSchema>;
/** A table of a {@link Snapshot}. */
export type SnapshotTable = z.infer<typeof SnapshotTableSchema>;

type Row = Record<string, unknown> & { table: string };

/** Reads the shape of `schema` (inside a transaction, it sees that transaction's changes). */
export async function takeSnapshot(db: Database, schema: string): Promise<Snapshot> {
  // One after the other: on a transaction there is one connection, and PGlite has only one anyway.
  const relations = await db.query<Record<string, unknown>>(RELATIONS, [schema]);
  const columns = await db.query<Row>(COLUMNS, [schema]);
  const constraints = await db.query<Row>(CONSTRAINTS, [schema]);
  const indexes = await db.query<Row>(INDEXES, [schema]);
  const of = (rows: Row[], table: unknown) =>
    rows.filter((r) => r.table === table).map(({ table: _, ...rest }) => rest);
  const isView = (r: Record<string, unknown>) => r.kind === 'v' || r.kind === 'm';
  return SnapshotSchema.parse({
    schema,
    tables: relations.rows
      .filter((r) => !isView(r))
      .map((r) => ({
        name: r.name,
        estimatedRows: r.estimatedRows,
        primaryKey: r.primaryKey,
        columns: of(columns.rows, r.name),
        constraints: of(constraints.rows, r.name),
        indexes: of(indexes.rows, r.name),
        // A json column: node-postgres and PGlite parse it; a driver that does not gives its text.
        partitionOf: typeof r.partitionOf === 'string' ? JSON.parse(r.partitionOf) : r.partitionOf,
        partitionKey: r.partitionKey ?? null,
        inherits: r.inherits,
        triggers: r.triggers,
        triggerDefinitions: ((r.triggerDefinitions as unknown[]) ?? [])
          .map((d) => (typeof d === 'string' ? JSON.parse(d) : d) as { name: string })
          .sort((x, y) => x.name.localeCompare(y.name)),
      })),
    views: relations.rows
      .filter(isView)
      .map((r) => ({ name: r.name, materialized: r.kind === 'm', definition: r.definition })),
  });
}

/** The part of a snapshot that `scope` names (all of it when `scope` is undefined). */
export function scoped(snapshot: Snapshot, scope: readonly string[] | undefined): Snapshot {
  if (scope === undefined) return snapshot;
  const keep = new Set(scope);
  return {
    schema: snapshot.schema,
    tables: snapshot.tables.filter((t) => keep.has(t.name)),
    views: snapshot.views.filter((v) => keep.has(v.name)),
  };
}

/** Everything compared, by object (`column orders.total`): equal snapshots give equal maps. */
function facts(
  snapshot: Snapshot,
  partitions: boolean,
  attachments: boolean,
  trees: boolean,
  triggers: boolean,
): Map<string, { relation: string; value: string }> {
  const out = new Map<string, { relation: string; value: string }>();
  const set = (relation: string, key: string, value: string) => out.set(key, { relation, value });
  for (const t of snapshot.tables) {
    set(t.name, `table ${t.name}`, 'exists');
    // A parent in another schema is left out: the dry run's copy does not copy it (its partition is a plain table
    // there), and a migration may not touch it.
    if (partitions && t.partitionOf && t.partitionOf.schema === null) {
      const { name, bound } = t.partitionOf;
      set(t.name, `partition ${t.name}`, `of ${name} ${bound}`);
    }
    // How a table is partitioned, and what it inherits, when both snapshots recorded it.
    if (trees && t.partitionKey) set(t.name, `partitioned ${t.name}`, t.partitionKey);
    if (trees && t.inherits?.length) set(t.name, `inherits ${t.name}`, t.inherits.join(', '));
    for (const { name, inherited: _, ...rest } of t.columns)
      set(t.name, `column ${t.name}.${name}`, JSON.stringify(rest));
    for (const k of t.constraints) set(t.name, `constraint ${t.name}.${k.name}`, k.definition);
    if (triggers)
      for (const d of t.triggerDefinitions ?? [])
        set(t.name, `${d.kind} ${t.name}.${d.name}`, JSON.stringify([d.definition, d.enabled]));
    for (const i of t.indexes) {
      // An index on a partitioned table made again but not attached to its partitions' is left invalid: compared.
      const attached = attachments && i.parentIndex ? ` (attached to ${i.parentIndex})` : '';
      set(t.name, `index ${t.name}.${i.name}`, `${i.definition}${attached}`);
    }
  }
  for (const v of snapshot.views)
    set(v.name, `view ${v.name}`, JSON.stringify([v.materialized, v.definition]));
  return out;
}

/** One difference between two snapshots. */
export interface SnapshotDifference {
  /** The object, such as `column orders.total`. */
  readonly object: string;
  /** The table or view it belongs to. */
  readonly relation: string;
  readonly expected: string | null;
  readonly actual: string | null;
}

/** What differs from `expected` in `actual` (empty when they describe the same schema). */
export function compareSnapshots(expected: Snapshot, actual: Snapshot): SnapshotDifference[] {
  // Partitions are compared when both snapshots recorded them (one stored by an earlier version did not).
  const partitions = [expected, actual].every((s) => s.tables.every((t) => t.partitionOf !== undefined));
  const attachments = [expected, actual].every((s) =>
    s.tables.every((t) => t.indexes.every((i) => i.parentIndex !== undefined)),
  );
  const trees = [expected, actual].every((s) =>
    s.tables.every((t) => t.partitionKey !== undefined && t.inherits !== undefined),
  );
  const triggers = [expected, actual].every((s) => s.tables.every((t) => t.triggerDefinitions !== undefined));
  const a = facts(expected, partitions, attachments, trees, triggers);
  const b = facts(actual, partitions, attachments, trees, triggers);
  const differences: SnapshotDifference[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const left = a.get(key);
    const right = b.get(key);
    if (left?.value !== right?.value) {
      const relation = (left ?? right)?.relation as string;
      differences.push({
        object: key,
        relation,
        expected: left?.value ?? null,
        actual: right?.value ?? null,
      });
    }
  }
  return differences.sort((x, y) => x.object.localeCompare(y.object));
}

/** The names of the tables and views that differ between two snapshots. */
export function changedRelations(before: Snapshot, after: Snapshot): string[] {
  return [...new Set(compareSnapshots(before, after).map((d) => d.relation))].sort();
}

/** A one-line summary of a difference, for messages. */
export function describeDifference(d: SnapshotDifference): string {
  if (d.expected === null) return `${d.object} is unexpected`;
  if (d.actual === null) return `${d.object} is missing`;
  return `${d.object} differs (expected ${d.expected}, got ${d.actual})`;
}

/**
 * `names` with the partitions and inheritance children of those tables in `snapshot`, transitively, sorted: what a
 * statement on a parent reaches.
 */
export function withDescendants(snapshot: Snapshot, names: Iterable<string>): string[] {
  const out = new Set(names);
  let added = true;
  while (added) {
    added = false;
    for (const t of snapshot.tables) {
      if (out.has(t.name)) continue;
      const parents = [
        ...(t.partitionOf && t.partitionOf.schema === null ? [t.partitionOf.name] : []),
        ...(t.inherits ?? []),
      ];
      if (parents.some((p) => out.has(p))) {
        out.add(t.name);
        added = true;
      }
    }
  }
  return [...out].sort();
}
