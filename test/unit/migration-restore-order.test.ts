import { describe, expect, it } from 'vitest';
import { referencedFirst } from '../../machines/migration/restore-order.js';

const key = (table: string, references: string) => ({
  table,
  name: `${table}_fk`,
  references,
  deferrable: false,
});

describe('referencedFirst', () => {
  it('puts each table after the tables it references, else keeps the given order', () => {
    expect(
      referencedFirst(
        ['line', 'note', 'purchase', 'customer'],
        [key('line', 'purchase'), key('purchase', 'customer')],
      ),
    ).toEqual(['note', 'customer', 'purchase', 'line']);
  });

  it('ignores keys to tables not restored and keys of a table to itself', () => {
    expect(referencedFirst(['tree', 'line'], [key('tree', 'tree'), key('line', 'elsewhere')])).toEqual([
      'tree',
      'line',
    ]);
  });

  it('keeps tables that reference each other in their given order, after the others', () => {
    expect(referencedFirst(['a', 'b', 'c'], [key('a', 'b'), key('b', 'a')])).toEqual(['c', 'a', 'b']);
  });
});
