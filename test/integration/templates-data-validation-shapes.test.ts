/**
 * The data validation on a shape the other files do not build: Northwind as its ports load it, quoted names with
 * spaces (`"Unit Price"`, `"Order Date"`), beside snake_case tables (`test/support/other-schemas.ts`, `seedTraders`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { dataValidation, template } from '../../machines/data-validation.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';
import { seedTraders } from '../support/other-schemas.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('the data validation template on names with spaces ($name)', (adapter) => {
  it('proposes the amount and date rules of names with spaces, and finds what was planted', async () => {
    const db = await adapter.open();
    await seedTraders(db);
    const report = await testEngine({ agents: template.agents(db) }).start(dataValidation, {}).result;
    // Both were unchecked: "Unit Price" and "Order Date" read as one word each, matching no amount or date name.
    expect(report.violations.map((v) => [v.rule, v.count])).toEqual([
      ['non-negative:Products.Unit Price', 1],
      ['not-future:Orders.Order Date', 1],
    ]);
    expect(report.violations.find((v) => v.table === 'Products')?.examples).toEqual([
      expect.objectContaining({ key: { 'Product Code': 'P7' }, values: { 'Unit Price': -1 } }),
    ]);
  });
});
