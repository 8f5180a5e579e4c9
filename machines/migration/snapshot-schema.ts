/**
 * The shape of a {@link Snapshot}, as stored in a run's results (the plan's `before`, the dry run's `expected`, the
 * apply's undo data): a file of its own so that `snapshot.ts` keeps to reading and comparing. Every field recorded
 * after the first version is optional, so snapshots stored before it still parse, and are compared without it.
 */
import { z } from 'zod';
import { DomainSchema } from './snapshot-domains.js';
import { EnumSchema } from './snapshot-enums.js';
import { GrantSchema, PolicySchema, RowSecuritySchema } from './snapshot-security.js';
import { IdentitySequenceSchema, SequenceSchema } from './snapshot-sequences.js';

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
  /**
   * An identity's sequence options (`START WITH`, `INCREMENT BY`, bounds, cache, cycle), or null (not an identity, or
   * a partition's, whose sequence is its parent's). Compared apart from the rest of the column (`identity t.c`), and
   * only when both snapshots recorded it: optional, snapshots stored before it was recorded have none.
   */
  identitySequence: IdentitySequenceSchema.nullable().optional(),
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
  /**
   * Privileges, row-level security and policies (see `snapshot-security.ts`). Optional, as `triggerDefinitions`:
   * snapshots stored before they were recorded have none, and the dry run's expected shape no grants (the copy's are
   * not the target's: it is owned by the role running the dry run; its policies are the target's, copied).
   */
  grants: z.array(GrantSchema).optional(),
  rowSecurity: RowSecuritySchema.optional(),
  policies: z.array(PolicySchema).optional(),
});

/** One view or materialized view. */
const SnapshotViewSchema = z.object({
  name: z.string(),
  materialized: z.boolean(),
  definition: z.string(),
  grants: z.array(GrantSchema).optional(),
});

/** A schema's shape. */
export const SnapshotSchema = z.object({
  schema: z.string(),
  tables: z.array(SnapshotTableSchema),
  views: z.array(SnapshotViewSchema),
  /**
   * Sequences, enum types, domains and the schema's own privileges: not relations, so kept beside them (the revert's
   * scope names a sequence or a type as it names a table; the schema's privileges as ''). Optional, as the tables'
   * grants.
   */
  sequences: z.array(SequenceSchema).optional(),
  enums: z.array(EnumSchema).optional(),
  domains: z.array(DomainSchema).optional(),
  schemaGrants: z.array(GrantSchema).optional(),
});

/** A schema's shape. */
export type Snapshot = z.infer<typeof SnapshotSchema>;
/** A table of a {@link Snapshot}. */
export type SnapshotTable = z.infer<typeof SnapshotTableSchema>;
