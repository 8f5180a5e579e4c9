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
import { MUSIC_PLANTED, seedMusic, seedRental } from '../support/other-schemas.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

const planted = PLANTED_PROBLEMS.filter((p) => p.foundBy === 'data-validation');

/** A zod rule given to the agents factory: every customer email is on example.com. */
const emailDomain = {
  table: 'customers',
  name: 'email on example.com',
  schema: z.object({ email: z.string().endsWith('@example.com').nullable() }),
};

/** The sample's business rule as a JSON Schema on its view (translated to SQL). */
const totalsRule = {
  table: 'order_summaries',
  name: 'order total equals the sum of its items',
  schema: { type: 'object', properties: { difference: { const: 0 } }, required: ['difference'] },
};

describe.each(adapters.list)('the data validation template on $name', (adapter) => {
  let db: Database;
  let report: ValidationReport;
  const run = (input: DataValidationInput) =>
    testEngine({ agents: dataValidationAgents(db, { rules: [emailDomain] }) }).start(dataValidation, input);

  beforeAll(async () => {
    db = await adapter.open();
    await seedSample(db);
    report = await run({ rules: [totalsRule] }).result;
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

  it('reports nothing else but what follows from the planted quantities: two orders of negative total', () => {
    const extra = report.violations.filter(
      (v) => !planted.some((p) => p.kind === v.kind && p.table === v.table && p.target === v.name),
    );
    // Orders whose only items have negative quantities total below zero: the proposed rule finds them.
    expect(extra.map((v) => v.rule).sort()).toEqual([
      'non-negative:order_summaries.items_total',
      'non-negative:order_summaries.total',
      'non-negative:orders.total',
    ]);
    expect(extra.every((v) => v.count === 2 && v.source === 'profile')).toBe(true);
  });

  it('checks every table with the default input {}, one pass each, skipping what PostgreSQL enforces', async () => {
    expect(template.exampleInput).toEqual({});
    const plain = await testEngine({ agents: template.agents(db) }).start(dataValidation, {}).result;
    expect(plain.batches).toBe(7);
    expect(plain.tables.map((t) => t.table)).toContain('audit_log');
    expect(plain.enforcedSkipped).toBeGreaterThan(20);
    const plan = (await agentOf(db, 'validation-plan')({})) as { rules: Array<Record<string, unknown>> };
    const ids = plan.rules.map((r) => r.id);
    expect(ids).not.toContain('check:products.products_price_check');
    expect(ids).not.toContain('foreign-key:orders.orders_customer_id_fkey');
    expect(ids.some((id) => String(id).startsWith('not-null:orders'))).toBe(false);
    expect(
      plan.rules.find((r) => r.id === 'check:product_reviews.product_reviews_rating_check'),
    ).toBeUndefined();
    expect(plan.rules.find((r) => r.id === 'check:products.products_stock_nonnegative')).toMatchObject({
      kind: 'range',
      min: 0,
      enforced: false,
    });
    expect(plan.rules.find((r) => r.id === 'check:customers.customers_tier_check')).toMatchObject({
      kind: 'enum',
      values: ['bronze', 'silver', 'gold'],
    });
  });

  it('profiles columns with numbers as numbers', () => {
    const products = report.profiles.find((p) => p.table === 'products')?.columns ?? [];
    const price = products.find((c) => c.column === 'price');
    expect(typeof price?.min).toBe('number');
    expect(price?.mean).toBeGreaterThan(0);
    const category = products.find((c) => c.column === 'category_id');
    expect(category).toMatchObject({ nulls: 10, distinctEstimated: false });
    const orders = report.profiles.find((p) => p.table === 'orders')?.columns ?? [];
    expect(orders.find((c) => c.column === 'created_at')?.newestAgeDays).toEqual(expect.any(Number));
  });

  it('names example rows by primary key and shows the offending values as numbers', () => {
    const quantity = report.violations.find((v) => v.name === 'order_items_quantity_positive');
    expect(quantity?.examples[0]).toMatchObject({ key: { id: expect.any(Number) } });
    expect(quantity?.examples[0]?.values.quantity).toBeLessThanOrEqual(0);
    const orphan = report.violations.find((v) => v.kind === 'foreign-key');
    expect(orphan?.examples[0]?.message).toContain('has no match in products');
  });

  it('counts rows, not violations, for the ratio', () => {
    expect(report.rowsChecked).toBeGreaterThan(15_000);
    // The planted rows, and the two orders (and their two summaries) of negative total.
    expect(report.violatingRows).toBe(planted.reduce((n, p) => n + (p.rows ?? 0), 0) + 4);
    expect(report.ratio).toBeCloseTo(report.violatingRows / report.rowsChecked, 10);
    expect(report.overThreshold).toBe(false);
    expect(report.review).toBeUndefined();
  });

  it('checks a cross-row rule given as an SQL expression', async () => {
    const result = await run({
      tables: ['orders'],
      checks: [
        {
          table: 'orders',
          name: 'total is the sum of the items',
          expression:
            'total = (SELECT COALESCE(sum(i.quantity * i.unit_price), 0) FROM order_items i WHERE i.order_id = orders.id)',
        },
      ],
    }).result;
    const broken = result.violations.find((v) => v.kind === 'expression');
    expect(broken?.count).toBe(12);
    expect(broken?.examples[0]?.key).toEqual({ id: expect.any(Number) });
    await expect(
      run({ tables: ['orders'], checks: [{ table: 'orders', name: 'bad', expression: 'nope > 1' }] }).result,
    ).rejects.toMatchObject({ stepPath: 'plan' });
    await expect(
      run({
        tables: ['orders'],
        checks: [{ table: 'orders', name: 'evil', expression: 'true; DROP TABLE orders' }],
      }).result,
    ).rejects.toMatchObject({ stepPath: 'plan' });
  });

  it("reads an inheritance parent's own rows when its children are checked too: no row counted twice", async () => {
    for (const sql of [
      'CREATE SCHEMA inh',
      'CREATE TABLE inh.vehicle (id int PRIMARY KEY, wheels int)',
      'CREATE TABLE inh.truck (load int) INHERITS (inh.vehicle)',
      'INSERT INTO inh.vehicle VALUES (1, 4), (2, -1), (3, 2)',
      'INSERT INTO inh.truck VALUES (4, -2, 10), (5, 6, 20)',
    ])
      await db.query(sql);
    try {
      const wheels = (table: string) => ({ table, name: `${table} wheels`, expression: 'wheels >= 0' });
      const both = await run({ schema: 'inh', threshold: 1, checks: [wheels('vehicle'), wheels('truck')] })
        .result;
      expect(both.rowsChecked).toBe(5);
      expect(both.violations.map((v) => [v.table, v.count]).sort()).toEqual([
        ['truck', 1],
        ['vehicle', 1],
      ]);
      // The parent alone: every vehicle, trucks included.
      const parent = await run({
        schema: 'inh',
        threshold: 1,
        tables: ['vehicle'],
        checks: [wheels('vehicle')],
      }).result;
      expect(parent.rowsChecked).toBe(5);
      expect(parent.violations.map((v) => [v.table, v.count])).toEqual([['vehicle', 2]]);
    } finally {
      await db.query('DROP SCHEMA inh CASCADE');
    }
  });

  it('reports a table it cannot read as unchecked, and checks the others', async () => {
    // Counting its rows divides by zero: nothing of it can be read.
    await db.query('CREATE VIEW broken AS SELECT id FROM categories WHERE 1 / (id - id) = 1');
    try {
      const result = await run({ tables: ['broken', 'products'] }).result;
      expect(result.notes.find((n) => n.kind === 'unchecked')).toMatchObject({
        table: 'broken',
        message: expect.stringMatching(/division by zero/),
      });
      expect(result.violations.map((v) => v.name)).toContain('products_stock_nonnegative');
    } finally {
      await db.query('DROP VIEW broken');
    }
  });

  it('applies a zod rule given to the agents', async () => {
    await db.query(`UPDATE customers SET email = 'someone@elsewhere.org' WHERE id = 2`);
    try {
      const result = await run({ tables: ['customers'] }).result;
      const broken = result.violations.find((v) => v.name === 'email on example.com');
      expect(broken).toMatchObject({ kind: 'user-rule', count: 1, examples: [{ key: { id: 2 } }] });
      // On a view (no key, no ctid) the rows are paged in the order of their columns.
      const onView = await testEngine({
        agents: dataValidationAgents(db, {
          rules: [
            {
              table: 'order_summaries',
              name: 'total not negative',
              schema: z.object({ total: z.number().min(0) }),
            },
          ],
        }),
      }).start(dataValidation, { tables: ['order_summaries'], propose: false }).result;
      expect(onView.violations.find((v) => v.name === 'total not negative')?.count).toBe(2);
    } finally {
      await db.query(`UPDATE customers SET email = 'restored.2@example.com' WHERE id = 2`);
    }
  });

  it('escalates to a human above the threshold, and reports their decision', async () => {
    const started = run({ tables: ['customers', 'products'], threshold: 0.001 });
    const reasons: string[] = [];
    started.events$.subscribe((e) => {
      if (e.type === 'attempt-failed') reasons.push(e.reason);
    });
    await waitFor(() => started.status === 'waiting');
    expect(started.waitingSteps()).toEqual(['review']);
    // What the human decides on names the rules broken (the report is written after the decision).
    expect(reasons.join(' ')).toMatch(
      /more than the 0\.10% allowed\. Broken: (customers|products): .+ \(\d+ rows\)/,
    );
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

  it('fails the plan for an unknown table or a rule it cannot check in SQL', async () => {
    await expect(run({ tables: ['nope'] }).result).rejects.toMatchObject({ stepPath: 'plan' });
    for (const schema of [{ type: 'nonsense', allOf: [] }, { properties: { email: { format: 'email' } } }]) {
      await expect(
        run({ tables: ['customers'], rules: [{ table: 'customers', name: 'bad', schema }] }).result,
      ).rejects.toMatchObject({ stepPath: 'plan' });
    }
  });
});

describe.each(adapters.list)('the data validation template on another shape ($name)', (adapter) => {
  let report: ValidationReport;
  beforeAll(async () => {
    const db = await adapter.open();
    await seedMusic(db);
    report = await testEngine({ agents: template.agents(db) }).start(dataValidation, template.exampleInput)
      .result;
  }, 60_000);

  it('picks the schema that holds the tables, and checks partitioned tables once', () => {
    expect(report.schema).toBe('music');
    const tables = report.tables.map((t) => t.table);
    expect(tables).toContain('Payment');
    expect(tables.some((t) => t.startsWith('Payment_'))).toBe(false);
    expect(tables).not.toContain('InvoiceTotals');
  });

  it.each(MUSIC_PLANTED)('finds the planted $kind on $table.$column ($rows rows)', (problem) => {
    const found = report.violations.find(
      (v) => v.kind === problem.kind && v.table === problem.table && v.rule.includes(`.${problem.column}`),
    );
    expect(found, report.violations.map((v) => `${v.rule}=${v.count}`).join(', ')).toBeDefined();
    expect(found?.count).toBe(problem.rows);
    expect(found?.source).toBe('profile');
  });

  it('reports nothing it did not plant, and notes the outlier and the stale table', () => {
    expect(report.violations).toHaveLength(MUSIC_PLANTED.length);
    expect(report.notes.map((n) => `${n.kind}:${n.table}.${n.column}`)).toEqual(
      expect.arrayContaining(['outliers:InvoiceLine.Quantity', 'proposal-dropped:Adjustment.Amount']),
    );
  });
});

describe.each(adapters.list)('the data validation template on a DVD rental ($name)', (adapter) => {
  it('profiles every type (domain, enum, array, tsvector, bytea, infinity, NaN) and reports only what is true', async () => {
    const db = await adapter.open();
    await seedRental(db);
    const report = await testEngine({ agents: template.agents(db) }).start(dataValidation, {}).result;
    expect(report.tables.map((t) => t.table)).toEqual([
      'customer',
      'film',
      'language',
      'payment',
      'rental',
      'staff',
    ]);
    expect(report.tables.find((t) => t.table === 'payment')?.rows).toBe(283);
    expect(report.tables.find((t) => t.table === 'film')?.rows).toBe(101);
    // The one row planted: a last update at 'infinity' is later than tomorrow.
    expect(report.violations.map((v) => `${v.rule}=${v.count}`)).toEqual([
      'not-future:language.last_update=1',
    ]);
    expect(report.notes.filter((n) => n.kind === 'unchecked')).toEqual([]);
    const language = report.profiles.find((p) => p.table === 'language')?.columns ?? [];
    expect(language.find((c) => c.column === 'last_update')).toMatchObject({
      max: 'infinity',
      newestAgeDays: null,
    });
    const film = report.profiles.find((p) => p.table === 'film')?.columns ?? [];
    expect(film.find((c) => c.column === 'rating')).toMatchObject({ distinct: 5, nulls: 0 });
    // NaN sorts above every number: the maximum and the mean have no JSON number, so they are null.
    expect(film.find((c) => c.column === 'rental_rate')).toMatchObject({ min: 0.99, max: null, mean: null });
  });
});

describe.runIf(adapters.list.some((a) => a.name === 'postgres'))('the data validation at scale', () => {
  it('checks 1M rows in one pass per table (figure for docs/templates.md)', async () => {
    const db = await adapters.list.find((a) => a.name === 'postgres')!.open();
    await db.query(`CREATE TABLE big (
      id bigint PRIMARY KEY, customer_id integer NOT NULL, amount numeric(10, 2), status text,
      created_at timestamptz NOT NULL, note text)`);
    await db.query(`INSERT INTO big SELECT g, g % 5000, CASE WHEN g % 250000 = 0 THEN -1 ELSE (g % 1000) / 10.0 END,
      (ARRAY['new', 'paid', 'sent'])[g % 3 + 1], now() - (g % 1000) * interval '1 hour', NULL FROM generate_series(1, 1000000) g`);
    await db.query('ANALYZE big');
    const started = performance.now();
    const result = await testEngine({ agents: template.agents(db) }).start(dataValidation, {
      tables: ['big'],
    }).result;
    const ms = performance.now() - started;
    expect(result.rowsChecked).toBe(1_000_000);
    expect(result.violations.find((v) => v.kind === 'non-negative')?.count).toBe(4);
    console.log(
      `data-validation 1M rows: run ${Math.round(ms)} ms, table pass ${result.tables[0]?.durationMs} ms (${Math.round(1_000_000 / (ms / 1000))} rows/s)`,
    );
  }, 120_000);
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
