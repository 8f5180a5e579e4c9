import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../machines/lib/catalog.js';
import { freeName } from '../../machines/lib/relation-names.js';
import { createIndexFix, freeRelationName } from '../../machines/schema-analysis/fixes.js';

/** A catalog with just what naming reads: tables, their indexes and their columns' sequences. */
function catalogOf(tables: { name: string; indexes?: string[]; sequences?: string[] }[]): Catalog {
  return {
    schema: 's',
    tables: tables.map((t) => ({
      name: t.name,
      partitioned: false,
      indexes: (t.indexes ?? []).map((name) => ({ name })),
      columns: (t.sequences ?? []).map((seq) => ({
        name: 'id',
        sequence: { name: `s.${seq}`, lastValue: 1, max: 9 },
      })),
    })),
  } as unknown as Catalog;
}

// An index name already taken by another relation made `CREATE INDEX ... IF NOT EXISTS` build nothing, silently,
// and the migration reported success with the foreign key still unindexed.
describe('the name of a proposed index', () => {
  it('is the wanted one when free, else the first free with a suffix, never past 63 bytes', () => {
    const catalog = catalogOf([
      { name: 'a', indexes: ['a_pkey'] },
      { name: 'a_b_id_idx', indexes: ['a_b_id_idx_2'] },
      { name: 't', sequences: ['t_x_idx'] },
    ]);
    expect(freeRelationName(catalog, 'a_c_idx')).toBe('a_c_idx');
    expect(freeRelationName(catalog, 'a_b_id_idx')).toBe('a_b_id_idx_3');
    expect(freeRelationName(catalog, 't_x_idx')).toBe('t_x_idx_2');
    const long = 'x'.repeat(70);
    const taken = catalogOf([{ name: long.slice(0, 63) }]);
    expect(freeRelationName(taken, long)).toBe(`${'x'.repeat(61)}_2`);
  });

  it('is what the fix creates', () => {
    const catalog = catalogOf([{ name: 'a' }, { name: 'a_b_id_idx' }]);
    const table = catalog.tables[0];
    if (!table) throw new Error('no table');
    const { fix } = createIndexFix(catalog, table, freeRelationName(catalog, 'a_b_id_idx'), ['b_id']);
    expect(fix).toBe('CREATE INDEX CONCURRENTLY IF NOT EXISTS "a_b_id_idx_2" ON "s"."a" ("b_id")');
  });

  it('on a partition partitioned in turn, is made ON ONLY it, its own partitions built and attached, then attached', () => {
    const table = (name: string, partitionOf: string | null, partitioned: boolean) => ({
      name,
      partitionOf,
      partitioned,
      indexes: [],
      columns: [],
    });
    const catalog = {
      schema: 's',
      tables: [table('ev', null, true), table('ev_2024', 'ev', true), table('ev_2024_a', 'ev_2024', false)],
    } as unknown as Catalog;
    const [ev] = catalog.tables;
    if (!ev) throw new Error('no table');
    expect(createIndexFix(catalog, ev, 'ev_k_idx', ['k']).fix?.split(';\n')).toEqual([
      'CREATE INDEX IF NOT EXISTS "ev_k_idx" ON ONLY "s"."ev" ("k")',
      'CREATE INDEX IF NOT EXISTS "ev_2024_k_idx" ON ONLY "s"."ev_2024" ("k")',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ev_2024_a_k_idx" ON "s"."ev_2024_a" ("k")',
      'ALTER INDEX "s"."ev_2024_k_idx" ATTACH PARTITION "s"."ev_2024_a_k_idx"',
      'ALTER INDEX "s"."ev_k_idx" ATTACH PARTITION "s"."ev_2024_k_idx"',
    ]);
  });

  it('is cut at 63 bytes, never inside a character, and proposals of one pass do not share it', () => {
    const taken = new Set<string>();
    const wanted = `${'é'.repeat(40)}_idx`; // 84 bytes
    const first = freeName(wanted, taken);
    const second = freeName(wanted, taken);
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(63);
    expect(first).toBe('é'.repeat(31));
    expect(second).toBe(`${'é'.repeat(30)}_2`);
    expect(first).not.toContain('\uFFFD');
  });
});
