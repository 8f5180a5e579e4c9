/**
 * The schema analysis on a shape the other files do not build: Northwind as its ports load it (quoted names with
 * spaces, money in `real`), beside snake_case tables (`test/support/other-schemas.ts`, `seedTraders`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { schemaAnalysis, template } from '../../machines/schema-analysis.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';
import { seedTraders } from '../support/other-schemas.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('the schema analysis template on names with spaces ($name)', (adapter) => {
  it('reads "Unit Price" as money and advises names in the schema\'s own convention', async () => {
    const db = await adapter.open();
    await seedTraders(db);
    const report = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {}).result;
    const ids = report.findings.map((f) => f.id);
    // "Unit Price" was one word, "unit price", which no amount pattern matched.
    expect(ids).toContain('float-money:Products.Unit Price');
    // snake_case is what most names follow here: the advice for "Order ID" is order_id, not "order id".
    const naming = report.findings.find((f) => f.id === 'naming:Orders.Order ID');
    expect(naming?.message).toContain('(say order_id)');
    const advice = report.findings.flatMap((f) => /\(say ([^)]*)\)/.exec(f.message)?.slice(1) ?? []);
    expect(advice.length).toBeGreaterThan(5);
    expect(advice.filter((name) => !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(name))).toEqual([]);
  });
});
