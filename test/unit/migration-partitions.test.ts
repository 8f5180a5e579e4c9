import { describe, expect, it } from 'vitest';
import type { SnapshotTable } from '../../machines/migration/snapshot.js';
import { undoPlan } from '../../machines/migration/undo.js';
import { compareSnapshots, type Snapshot } from '../../machines/migration.js';

const BOUND = "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')";
const table = (
  name: string,
  partitionOf?: { schema: string | null; name: string; bound: string } | null,
) => ({
  name,
  estimatedRows: 0,
  primaryKey: [],
  columns: [{ name: 'at', type: 'date', notNull: true, default: null, generated: '', identity: '' }],
  constraints: [],
  indexes: [],
  ...(partitionOf !== undefined ? { partitionOf } : {}),
});
const snapshot = (...tables: SnapshotTable[]): Snapshot => ({ schema: 's', tables, views: [] });

describe('partitions in a migration snapshot', () => {
  it('tells a detached partition apart, and plans its attach back with its bound', () => {
    const before = snapshot(table('ev', null), table('ev_2024', { schema: null, name: 'ev', bound: BOUND }));
    const after = snapshot(table('ev', null), table('ev_2024', null));
    expect(compareSnapshots(before, after)).toEqual([
      { object: 'partition ev_2024', relation: 'ev_2024', expected: `of ev ${BOUND}`, actual: null },
    ]);
    // Attached before the rows are restored: rows restored into the parent while it is detached would go astray.
    const plan = undoPlan(after, before);
    expect(plan.create).toEqual([`ALTER TABLE "s"."ev" ATTACH PARTITION "s"."ev_2024" ${BOUND}`]);
    expect(plan.finish).toEqual([]);
  });

  it('detaches a partition the migration attached, before anything else', () => {
    const before = snapshot(table('ev', null), table('loose', null));
    const after = snapshot(table('ev', null), table('loose', { schema: null, name: 'ev', bound: BOUND }));
    expect(undoPlan(after, before).drop[0]).toBe('ALTER TABLE "s"."ev" DETACH PARTITION "s"."loose"');
  });

  it('attaches a dropped partition once it is created again', () => {
    const before = snapshot(
      table('ev', null),
      table('ev_2024', { schema: 'other', name: 'ev', bound: BOUND }),
    );
    const plan = undoPlan(snapshot(table('ev', null)), before);
    expect(plan.recreated).toEqual(['ev_2024']);
    expect(plan.finish.at(-1)).toBe(`ALTER TABLE "other"."ev" ATTACH PARTITION "s"."ev_2024" ${BOUND}`);
  });

  // The dry run's copy has a partition of a parent in another schema as a plain table: not a difference.
  it('leaves out of the comparison a partition whose parent is in another schema', () => {
    const live = snapshot(table('ev_2024', { schema: 'archive', name: 'ev', bound: BOUND }));
    expect(compareSnapshots(snapshot(table('ev_2024', null)), live)).toEqual([]);
  });

  // A run stored by an earlier version keeps a snapshot without partitions: compared without them, not as a change.
  it('compares a snapshot taken before partitions were recorded without them', () => {
    const stored = snapshot(table('ev'), table('ev_2024'));
    const now = snapshot(table('ev', null), table('ev_2024', { schema: null, name: 'ev', bound: BOUND }));
    expect(compareSnapshots(stored, now)).toEqual([]);
    expect(undoPlan(now, stored)).toMatchObject({ drop: [], create: [], finish: [] });
  });

  // Found by review: a change to a partitioned table reached its partitions, and the revert undid it on each of them
  // too, which PostgreSQL refuses (inherited columns, constraints and attached indexes go with their parent's).
  it("undoes a change to a partitioned table on the parent only, and attaches partitions' indexes made again", () => {
    const at = { name: 'at', type: 'date', notNull: false, default: null, generated: '', identity: '' };
    const z = { ...at, name: 'z', type: 'integer' };
    type Columns = SnapshotTable['columns'];
    const parent = (columns: Columns, extra: Partial<SnapshotTable> = {}): SnapshotTable => ({
      ...table('ev', null),
      columns,
      ...extra,
    });
    const child = (columns: Columns, extra: Partial<SnapshotTable> = {}): SnapshotTable => ({
      ...table('ev_2024', { schema: null, name: 'ev', bound: BOUND }),
      columns: columns.map((c) => ({ ...c, inherited: true })),
      ...extra,
    });
    const check = { name: 'z_small', type: 'c', definition: 'CHECK ((z < 100))' };
    const before = snapshot(
      parent([at], {
        indexes: [
          {
            name: 'ev_at',
            definition: 'CREATE INDEX ev_at ON ONLY s.ev USING btree (at)',
            parentIndex: null,
          },
        ],
      }),
      child([at], {
        indexes: [
          {
            name: 'ev_2024_at_idx',
            definition: 'CREATE INDEX ev_2024_at_idx ON s.ev_2024 USING btree (at)',
            parentIndex: 'ev_at',
          },
        ],
      }),
    );
    const after = snapshot(
      parent([{ ...at, notNull: true }, z], { constraints: [check] }),
      child([{ ...at, notNull: true }, z], { constraints: [{ ...check, inherited: true }] }),
    );
    const plan = undoPlan(after, before);
    expect(plan.drop).toEqual([
      'ALTER TABLE "s"."ev" DROP CONSTRAINT "z_small"',
      'ALTER TABLE "s"."ev" DROP COLUMN "z"',
      'ALTER TABLE "s"."ev" ALTER COLUMN "at" DROP NOT NULL',
      // The partition's own, after its parent's (which recursed to it): a no-op then, refused before.
      'ALTER TABLE "s"."ev_2024" ALTER COLUMN "at" DROP NOT NULL',
    ]);
    expect(plan.create).toEqual([]);
    expect(plan.finish).toEqual([
      'CREATE INDEX ev_at ON ONLY s.ev USING btree (at)',
      'CREATE INDEX ev_2024_at_idx ON s.ev_2024 USING btree (at)',
      'ALTER INDEX "s"."ev_at" ATTACH PARTITION "s"."ev_2024_at_idx"',
    ]);
    // An index made again but left unattached (its parent invalid) is a difference.
    const [parentIndex, childIndex] = before.tables.flatMap((t) => t.indexes);
    const unattached = snapshot(
      parent([at], { indexes: parentIndex ? [parentIndex] : [] }),
      child([at], { indexes: childIndex ? [{ ...childIndex, parentIndex: null }] : [] }),
    );
    expect(compareSnapshots(before, unattached).map((d) => d.object)).toEqual([
      'index ev_2024.ev_2024_at_idx',
    ]);
    // A snapshot stored before attachments were recorded compares without them.
    const stored = snapshot(
      parent([at]),
      child([at], { indexes: [{ name: 'i', definition: 'CREATE INDEX i' }] }),
    );
    const now = snapshot(
      parent([at]),
      child([at], { indexes: [{ name: 'i', definition: 'CREATE INDEX i', parentIndex: 'p' }] }),
    );
    expect(compareSnapshots(stored, now)).toEqual([]);
  });
});
