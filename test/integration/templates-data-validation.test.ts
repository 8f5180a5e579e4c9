import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type DataValidationInput,
  dataValidation,
  dataValidationAgents,
  template,
  type ValidationReport,
} from '../../machines/data-validation.js';
import type { Database } from '../../src/db/port.js';
import { PLANTED_PROBLEMS, seedSample } from '../../src/db/sample/index.js';
import { InputValidationError, StepFailedError } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

const planted = PLANTED_PROBLEMS.filter((p) => p.foundBy === 'data-validation');

/** A zod rule given to the agents factory: every customer email is on example.com. */
const emailDomain = {
  table: 'customers',
  name: 'email on example.com',
  schema: z.object({ email: z.string().endsWith('@example.com').nullable() }),
};

describe.each(adapters.list)('the data validation template on $name', (adapter) => {
  let db: Database;
  let report: ValidationReport;
  const run = (input: DataValidationInput) =>
    testEngine({ agents: dataValidationAgents(db, { rules: [emailDomain] }) }).start(dataValidation, input);

  beforeAll(async () => {
    db = await adapter.open();
    await seedSample(db);
    report = await run(template.exampleInput).result;
  }, 60_000);

  it.each(planted)('finds the planted $id, with its exact count and examples', (problem) => {
    const found = report.violations.find(
      (v) => v.kind === problem.kind && v.table === problem.table && v.name === problem.target,
    );
    expect(found, `${problem.id} in ${report.violations.map((v) => v.rule).join(', ')}`).toBeDefined();
    expect(found?.count).toBe(problem.rows);
    expect(found?.enforced).toBe(false);
    expect(found?.examples.length).toBe(Math.min(5, problem.rows ?? 0));
  });

  it('reports nothing else: the rules the database enforces and the zod rule hold', () => {
    const expected = planted.map((p) => p.table).sort();
    expect(report.violations.map((v) => v.table).sort()).toEqual(expected);
  });

  it('derives NOT NULL, enum, range and foreign key rules from the catalog', async () => {
    const plan = (await agentOf(
      db,
      'validation-plan',
    )({ tables: ['products', 'product_reviews', 'orders'] })) as {
      rules: Array<Record<string, unknown>>;
    };
    const rule = (id: string) => plan.rules.find((r) => r.id === id);
    expect(rule('not-null:orders.customer_id')).toMatchObject({ kind: 'not-null', enforced: true });
    expect(rule('enum:orders.status')).toMatchObject({
      kind: 'enum',
      values: ['pending', 'paid', 'shipped', 'delivered', 'cancelled'],
    });
    expect(rule('check:products.products_price_check')).toMatchObject({ kind: 'range', min: 0 });
    expect(rule('check:product_reviews.product_reviews_rating_check')).toMatchObject({
      kind: 'range',
      min: 1,
      max: 5,
    });
    expect(rule('check:products.products_stock_nonnegative')).toMatchObject({
      kind: 'range',
      min: 0,
      enforced: false,
    });
    expect(rule('foreign-key:orders.orders_customer_id_fkey')).toMatchObject({
      kind: 'foreign-key',
      refTable: 'customers',
      refColumns: ['id'],
    });
  });

  it('names example rows by primary key and shows the offending values', () => {
    const quantity = report.violations.find((v) => v.name === 'order_items_quantity_positive');
    expect(quantity?.examples[0]).toMatchObject({ key: { id: expect.any(Number) } });
    expect(Number(quantity?.examples[0]?.values.quantity)).toBeLessThanOrEqual(0);
    const orphan = report.violations.find((v) => v.kind === 'foreign-key');
    expect(orphan?.examples[0]?.message).toContain('has no match in products');
  });

  it('checks in batches and counts rows, not violations, for the ratio', () => {
    expect(report.batches).toBeGreaterThan(10);
    expect(report.rowsChecked).toBeGreaterThan(15_000);
    expect(report.violatingRows).toBe(planted.reduce((n, p) => n + (p.rows ?? 0), 0));
    expect(report.ratio).toBeCloseTo(report.violatingRows / report.rowsChecked, 10);
    expect(report.overThreshold).toBe(false);
    expect(report.review).toBeUndefined();
  });

  it('applies a zod rule given to the agents', async () => {
    await db.query(`UPDATE customers SET email = 'someone@elsewhere.org' WHERE id = 2`);
    try {
      const result = await run({ tables: ['customers'] }).result;
      const broken = result.violations.find((v) => v.name === 'email on example.com');
      expect(broken).toMatchObject({ kind: 'user-rule', count: 1, examples: [{ key: { id: 2 } }] });
    } finally {
      await db.query(`UPDATE customers SET email = 'restored.2@example.com' WHERE id = 2`);
    }
  });

  it('escalates to a human above the threshold, and reports their decision', async () => {
    const started = run({ tables: ['customers', 'products'], threshold: 0.001, batchSize: 100 });
    await waitFor(() => started.status === 'waiting');
    expect(started.waitingSteps()).toEqual(['review']);
    started.resolveEscalation('review', { action: 'skip', value: { acceptedBy: 'ada' } });
    const result = await started.result;
    expect(result.overThreshold).toBe(true);
    expect(result.review).toEqual({ escalated: true, decision: { acceptedBy: 'ada' } });
  });

  it('fails the run when the human aborts', async () => {
    const started = run({ tables: ['products'], threshold: 0 });
    await waitFor(() => started.status === 'waiting');
    started.resolveEscalation('review', { action: 'abort', reason: 'fix the stock first' });
    const error = await started.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as Error).message).toContain('fix the stock first');
  });

  it('fails the plan for an unknown table or a rule that is not a JSON Schema', async () => {
    await expect(run({ tables: ['nope'] }).result).rejects.toMatchObject({ stepPath: 'plan' });
    await expect(
      run({
        tables: ['customers'],
        rules: [{ table: 'customers', name: 'bad', schema: { type: 'nonsense' } }],
      }).result,
    ).rejects.toMatchObject({ stepPath: 'plan' });
  });
});

describe('the data validation definition', () => {
  it('validates its input and has a JSON form', () => {
    const engine = testEngine({ agents: template.agents({} as Database) });
    expect(() => engine.start(dataValidation, { threshold: 2 })).toThrow(InputValidationError);
    expect(dataValidation.toJSON()).toMatchObject({ id: 'data-validation' });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One default agent, called directly (as the engine would, without a run). */
function agentOf(db: Database, name: string) {
  const agent = dataValidationAgents(db)[name] as (input: unknown, ctx: never) => Promise<unknown>;
  return (input: unknown) => agent(input, {} as never);
}
