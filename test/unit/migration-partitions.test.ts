import { describe, expect, it } from 'vitest';
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
const snapshot = (...tables: ReturnType<typeof table>[]): Snapshot => ({ schema: 's', tables, views: [] });

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
});
