import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  filterColumns,
  type OptimizationReport,
  optimization,
  optimizationAgents,
  optimizationWorkflow,
  template,
} from '../../machines/optimization.js';
import type { Database } from '../../src/db/port.js';
import { PLANTED_PROBLEMS, SAMPLE_SLOW_QUERY, seedSample } from '../../src/db/sample/index.js';
import { InputValidationError } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

const planted = PLANTED_PROBLEMS.filter((p) => p.foundBy === 'optimization');

/** Index names of the public schema, to show that trials leave nothing behind. */
const indexes = async (db: Database) =>
  (
    await db.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")
  ).rows
    .map((r) => r.name)
    .sort();

describe.each(adapters.list)('the optimization template on $name', (adapter) => {
  let db: Database;
  let before: string[];
  let report: OptimizationReport;
  let ms = 0;
  const run = (input: object, agents = optimizationAgents(db, { trial: 'real' })) =>
    testEngine({ agents }).start(optimizationWorkflow({ concurrency: 2 }), input).result;

  beforeAll(async () => {
    db = await adapter.open();
    await seedSample(db);
    before = await indexes(db);
    const started = performance.now();
    // Real trials (in rolled-back transactions) on both adapters: this test times the fix.
    report = await testEngine({ agents: optimizationAgents(db, { trial: 'real' }) }).start(
      optimization,
      template.exampleInput,
    ).result;
    ms = performance.now() - started;
  }, 60_000);

  it.each(planted)('finds the planted $id and measures the fix', (problem) => {
    expect(report.source).toBe('sample');
    expect(report.queries[0]?.sql).toBe(SAMPLE_SLOW_QUERY.sql);
    expect(report.queries[0]?.plan).toContain(`Seq Scan on ${problem.table}`);
    const fix = report.recommendations.find(
      (r) => r.table === problem.table && r.columns[0] === problem.target,
    );
    expect(fix, JSON.stringify(report, null, 2)).toBeDefined();
    expect(fix?.speedup).toBeGreaterThan(2);
    expect(fix?.afterMs).toBeLessThan(fix?.beforeMs ?? 0);
    expect(fix?.planBefore).toContain('Seq Scan on orders');
    expect(fix?.planAfter).toMatch(/Index Scan using orders_customer_id/);
    console.info(
      `optimization on ${adapter.name}: ${Math.round(ms)} ms; ${fix?.ddl}: ${fix?.beforeMs} ms -> ${fix?.afterMs} ms (${fix?.speedup}x); ` +
        `rejected: ${report.rejected.map((r) => `${r.ddl} (${r.speedup}x, ${r.why})`).join('; ')}`,
    );
  });

  it('tries every index in a transaction that rolls back: none is left behind', async () => {
    expect(report.recommendations.length + report.rejected.length).toBe(2);
    expect(await indexes(db)).toEqual(before);
  });

  it('measures given queries, and proposes nothing where an index would not help', async () => {
    const result = await run({
      queries: [
        { sql: 'SELECT * FROM order_items WHERE quantity < $1', params: [1], name: 'bad quantities' },
        { sql: 'SELECT * FROM orders WHERE id = $1', params: [7] },
        { sql: 'SELECT count(*) FROM orders WHERE total > $1', params: [0] },
      ],
    });
    expect(result.source).toBe('input');
    expect(result.queries.map((q) => q.name)).toEqual(['bad quantities', 'query 2', 'query 3']);
    expect(result.queries[1]?.plan).toContain('Index Scan using orders_pkey');
    expect(result.recommendations.map((r) => [r.table, r.columns])).toEqual([['order_items', ['quantity']]]);
    expect(result.recommendations[0]?.speedup).toBeGreaterThan(2);
    expect(result.notes.join(' ')).toMatch(
      /q3: the scan of orders keeps \d+ of 4000 rows; an index would not help/,
    );
    expect(await indexes(db)).toEqual(before);
  });

  it('leaves out, with a note, a query the server will not plan (as pg_stat_statements records `interval $1`)', async () => {
    const result = await run({
      queries: [
        { sql: 'SELECT count(*) FROM orders WHERE created_at > now() - interval $1', name: 'recorded' },
        { sql: 'SELECT * FROM order_items WHERE quantity < $1', params: [1], name: 'bad quantities' },
      ],
    });
    expect(result.queries.map((q) => q.name)).toEqual(['bad quantities']);
    expect(result.notes.join(' ')).toMatch(/q1 \(recorded\) could not be measured and is left out/);
    expect(result.recommendations.map((r) => r.table)).toEqual(['order_items']);
    expect(await indexes(db)).toEqual(before);
  });

  it('with no input on a schema whose keys are all indexed, reports that there is no workload to optimize', async () => {
    await db.query('CREATE SCHEMA idle');
    await db.query('CREATE TABLE idle.thing (id int PRIMARY KEY, parent int REFERENCES idle.thing (id))');
    await db.query('CREATE INDEX thing_parent_idx ON idle.thing (parent)');
    try {
      const result = await run({ schema: 'idle' });
      expect(result).toMatchObject({ schema: 'idle', source: 'none', queries: [], recommendations: [] });
      expect(result.notes.join(' ')).toMatch(/No workload to optimize in idle/);
    } finally {
      await db.query('DROP SCHEMA idle CASCADE');
    }
  });

  it("probes a `<table>_id` no foreign key declares, and never a key-less table's bare `id`", async () => {
    await db.query('CREATE SCHEMA logs');
    await db.query('CREATE TABLE logs.account (id int PRIMARY KEY, name text)');
    // A log loaded without its constraints: `id` is no reference, `account_id` is one (to account.id).
    await db.query('CREATE TABLE logs.event (id bigint, account_id int, kind text)');
    try {
      const result = await run({ schema: 'logs' });
      expect(result.source).toBe('catalog');
      expect(result.queries.map((q) => q.sql)).toEqual([
        'SELECT * FROM "logs"."event" WHERE "account_id" = $1',
      ]);
    } finally {
      await db.query('DROP SCHEMA logs CASCADE');
    }
  });

  it('refuses a query that is not one read-only statement, and runs nothing', async () => {
    const count = async () => (await db.query<{ n: number }>('SELECT count(*) AS n FROM orders')).rows[0]?.n;
    const n = await count();
    await expect(run({ queries: [{ sql: 'DELETE FROM orders' }] })).rejects.toMatchObject({
      stepPath: 'collect',
    });
    await expect(run({ queries: [{ sql: 'SELECT 1; DELETE FROM orders' }] })).rejects.toMatchObject({
      stepPath: 'collect',
    });
    expect(await count()).toBe(n);
  });

  it.runIf(adapter.name === 'postgres')(
    'reads pg_stat_statements when it can, and says why it cannot',
    async () => {
      await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      try {
        const result = await run({});
        expect(result.source).toBe('sample');
        expect(result.notes[0]).toMatch(/pg_stat_statements is installed but cannot be read/);
      } finally {
        await db.query('DROP EXTENSION pg_stat_statements');
      }
    },
  );
});

describe('the optimization definition and plan reading', () => {
  it('validates its input and has a JSON form', () => {
    const engine = testEngine({ agents: optimizationAgents({} as Database) });
    expect(() => engine.start(optimization, { queries: [] })).toThrow(InputValidationError);
    expect(optimization.toJSON()).toMatchObject({ id: 'optimization' });
    expect(template.id).toBe(optimization.id);
  });

  it('reads the compared columns of a plan filter', async () => {
    const table = {
      name: 'orders',
      kind: 'table' as const,
      estimatedRows: 0,
      sizeBytes: 0,
      constraints: [],
      indexes: [],
      columns: ['customer_id', 'status', 'total', 'note'].map((name, position) => ({
        name,
        type: 'integer',
        nullable: false,
        default: null,
        position,
        enumValues: null,
      })),
    };
    expect(
      await filterColumns("((o.status = 'paid'::order_status) AND (total > 10::numeric))", table),
    ).toEqual({
      equalities: ['status'],
      ranges: ['total'],
    });
    expect(await filterColumns('(42 = customer_id)', table)).toEqual({
      equalities: ['customer_id'],
      ranges: [],
    });
    expect(await filterColumns("((note)::text ~~ 'x%'::text)", table)).toEqual({
      equalities: [],
      ranges: [],
    });
    // A varchar column compared as text is still a column.
    expect(await filterColumns("(((note)::text = $1) AND (status = ANY ('{a,b}'::text[])))", table)).toEqual({
      equalities: ['note', 'status'],
      ranges: [],
    });
  });
});
