import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkReadOnlySql,
  type GenerationRequest,
  type QueryGenerator,
  type QueryReport,
  queryGeneration,
  queryGenerationAgents,
  queryGenerationWorkflow,
  runReadOnly,
  template,
} from '../../machines/query-generation.js';
import type { Database } from '../../src/db/port.js';
import { seedSample } from '../../src/db/sample/index.js';
import { InputValidationError } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';
import { eventually, until } from '../support/poll.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

/** What must stay the same whatever a generator returns. */
const fingerprint = async (db: Database) => {
  const tables = await db.query<{ n: number }>(
    "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'",
  );
  const rows = await db.query<{ orders: number; customers: number; shipped: number }>(
    `SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM customers) AS customers,
            (SELECT count(*) FROM orders WHERE status = 'shipped') AS shipped`,
  );
  return { tables: tables.rows[0]?.n, ...rows.rows[0] };
};

const one = async <R>(db: Database, sql: string) => (await db.query<R>(sql)).rows[0] as R;

describe.each(adapters.list)('the query generation template on $name', (adapter) => {
  let db: Database;
  const ask = (request: string, agents = template.agents(db), wf = queryGeneration) =>
    testEngine({ agents }).start(wf, { request });

  beforeAll(async () => {
    db = await adapter.open();
    await seedSample(db);
  }, 60_000);

  const cases: [string, (r: QueryReport) => Promise<void>][] = [
    [
      'How many orders have status shipped?',
      async (r) => {
        const { n } = await one<{ n: number }>(
          db,
          "SELECT count(*) AS n FROM orders WHERE status = 'shipped'",
        );
        expect(r.sample).toEqual([{ count: n }]);
        expect(r.params).toEqual(['shipped']);
        expect(r.sql).not.toContain("'");
      },
    ],
    [
      'Top 5 customers by number of orders',
      async (r) => {
        const { n } = await one<{ n: number }>(
          db,
          'SELECT max(c) AS n FROM (SELECT count(*) AS c FROM orders GROUP BY customer_id) s',
        );
        expect(r.sample).toHaveLength(5);
        expect(r.sample[0]?.order_count).toBe(n);
        expect(r.sql).toMatch(/JOIN "public"\."orders"/);
      },
    ],
    [
      'Average price of products by category',
      async (r) => {
        expect(r.columns).toEqual(['category_id', 'category', 'avg_price']);
        expect(r.sample).toHaveLength(10);
        expect(r.sql).toMatch(/JOIN "public"\."categories"/);
      },
    ],
    [
      'Number of orders per country',
      async (r) => {
        expect(r.sample).toHaveLength(10);
        expect(r.sample.reduce((sum, row) => sum + Number(row.count), 0)).toBe(4000);
      },
    ],
    [
      'Products with price over 100',
      async (r) => {
        expect(r.params).toEqual([100, 100]);
        expect(r.sample.every((row) => Number(row.price) > 100)).toBe(true);
      },
    ],
    [
      'Orders of customer 42',
      async (r) => {
        expect(r.sample.length).toBeGreaterThan(0);
        expect(r.sample.every((row) => row.customer_id === 42)).toBe(true);
      },
    ],
    [
      'Customers from FR',
      async (r) => {
        expect(r.params[0]).toBe('FR');
        expect(r.sample.every((row) => row.country === 'FR')).toBe(true);
      },
    ],
    [
      'Order items with product names',
      async (r) => {
        expect(r.columns).toContain('product_name');
      },
    ],
  ];

  it.each(cases)('answers "%s" with a checked, parameterized query', async (request, verify) => {
    const report = await ask(request).result;
    expect(report).toMatchObject({ status: 'answered', source: 'generator', attempts: 1, history: [] });
    expect(report.plan?.shape).toMatch(/Scan/);
    await verify(report);
  });

  it('feeds a failure back into the generator, which fixes its query', async () => {
    const seen: GenerationRequest[] = [];
    const generator: QueryGenerator = (request) => {
      seen.push(request);
      return request.attempt === 1
        ? { sql: 'SELECT nope FROM orders', params: [], explanation: 'a typo' }
        : {
            sql: 'SELECT count(*) AS n FROM orders WHERE status = $1',
            params: ['paid'],
            explanation: 'fixed',
          };
    };
    const report = await ask('paid orders', queryGenerationAgents(db, { generator })).result;
    expect(report).toMatchObject({ status: 'answered', attempts: 2, explanation: 'fixed' });
    expect(report.history[0]?.problems[0]).toMatch(/column "nope" does not exist/);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2]);
    expect(seen[1]?.previous[0]?.sql).toBe('SELECT nope FROM orders');
    expect(
      seen[0]?.context.tables.find((t) => t.name === 'orders')?.columns.find((c) => c.name === 'status')
        ?.values,
    ).toEqual(['pending', 'paid', 'shipped', 'delivered', 'cancelled']);
  });

  it('never lets a generator change data, then asks a human after the last try', async () => {
    const before = await fingerprint(db);
    const attacks = [
      'DELETE FROM orders',
      'DROP TABLE orders',
      "SELECT 1; UPDATE orders SET status = 'shipped'",
      'WITH gone AS (DELETE FROM customers RETURNING *) SELECT count(*) FROM gone',
    ];
    const generator: QueryGenerator = ({ attempt }) => ({
      sql: attacks[attempt - 1] ?? '',
      params: [],
      explanation: 'evil',
    });
    const wf = queryGenerationWorkflow({ maxAttempts: 4, reviewTimeoutMs: 10_000 });
    const run = ask('anything', queryGenerationAgents(db, { generator }), wf);
    await eventually(() => run.waitingSteps().includes('review'));
    expect(await fingerprint(db)).toEqual(before);
    run.resolveEscalation('review', {
      action: 'skip',
      value: { sql: 'SELECT count(*) AS n FROM orders WHERE status = $1', params: ['shipped'] },
    });
    const report = await run.result;
    expect(report).toMatchObject({
      status: 'answered',
      source: 'human',
      attempts: 4,
      sample: [{ n: before.shipped }],
    });
    expect(report.history.map((h) => h.problems.join(' '))).toEqual([
      expect.stringMatching(/Not a query.*Not read-only: it uses DELETE/),
      expect.stringMatching(/Not read-only: it uses DROP/),
      expect.stringMatching(/Expected one statement, got 2/),
      expect.stringMatching(/Not read-only: it uses DELETE/),
    ]);
  });

  it('runs whatever it is given read-only: writes fail inside the database too', async () => {
    const before = await fingerprint(db);
    const options = { statementTimeoutMs: 2_000, explain: 'FORMAT JSON' as const };
    for (const sql of [
      'DELETE FROM orders',
      'DROP TABLE orders',
      "SELECT 1; UPDATE orders SET status = 'shipped'",
      'WITH gone AS (DELETE FROM customers RETURNING *) SELECT count(*) FROM gone',
      'SELECT id FROM orders FOR UPDATE',
      "SELECT nextval('x')",
    ]) {
      await expect(runReadOnly(db, sql, [], options), sql).rejects.toThrow();
    }
    expect(await fingerprint(db)).toEqual(before);
    const ok = await runReadOnly(db, 'SELECT id FROM orders ORDER BY id', [], { ...options, limit: 3 });
    expect(ok.rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it.runIf(adapter.name === 'postgres')('stops a generated query at the statement timeout', async () => {
    const started = performance.now();
    await expect(runReadOnly(db, 'SELECT pg_sleep(5)', [], { statementTimeoutMs: 200 })).rejects.toThrow(
      /statement timeout/,
    );
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('reports an unanswered request when no one answers the review in time', async () => {
    const wf = queryGenerationWorkflow({ reviewTimeoutMs: 200 });
    const report = await ask('what is the weather like', template.agents(db), wf).result;
    expect(report).toMatchObject({ status: 'unanswered', source: null, sql: null, attempts: 3 });
    expect(report.problems.join(' ')).toMatch(/No table of schema public is named/);
  });

  // Found by a tester: the default input on an empty database waited for a human with "(it has: )".
  it('ends unanswered on a schema without tables, saying so, asking no generator and no human', async () => {
    await db.query('CREATE SCHEMA bare');
    try {
      let asked = 0;
      const generator: QueryGenerator = () => {
        asked++;
        return { sql: 'SELECT 1', params: [], explanation: 'a guess' };
      };
      for (const input of [{ schema: 'bare' }, { schema: 'bare', request: 'How many orders?' }]) {
        const run = testEngine({ agents: queryGenerationAgents(db, { generator }) }).start(
          queryGeneration,
          input,
        );
        const escalated = until(() => run.waitingSteps().includes('review'), 5_000);
        const report = await Promise.race([run.result, escalated.then(() => null)]);
        expect(run.waitingSteps()).not.toContain('review');
        expect(report).toMatchObject({ status: 'unanswered', source: null, sql: null, attempts: 0 });
        expect(report?.problems).toEqual([
          'The schema bare has no tables: there is nothing to query (give another with "schema")',
        ]);
      }
      expect(asked).toBe(0);
    } finally {
      await db.query('DROP SCHEMA bare');
    }
  });
});

describe('the query generation definition and static check', () => {
  it('validates its input and has a JSON form', () => {
    const engine = testEngine({ agents: queryGenerationAgents({} as Database) });
    expect(() => engine.start(queryGeneration, { request: '' })).toThrow(InputValidationError);
    expect(queryGeneration.toJSON()).toMatchObject({ id: 'query-generation' });
    expect(template.id).toBe(queryGeneration.id);
  });

  it('refuses literals, side-effect functions and parameter mismatches', async () => {
    const check = (sql: string, params: unknown[]) => checkReadOnlySql(sql, params);
    expect(await check('SELECT * FROM t WHERE a = $1;', [1])).toEqual({
      statement: 'SELECT * FROM t WHERE a = $1',
      problems: [],
    });
    expect((await check("SELECT * FROM t WHERE a = 'x'", [])).problems).toEqual([
      'Has string literals: pass values as parameters ($1, $2...) instead',
    ]);
    expect((await check("SELECT set_config('search_path', $1, false)", ['x'])).problems[0]).toMatch(
      /side effects: set_config/,
    );
    expect((await check('SELECT $2', [1])).problems).toEqual([
      'Uses 2 parameter(s) but 1 value(s) were given',
    ]);
    expect((await check('SELECT * INTO copy FROM t', [])).problems[0]).toMatch(/INTO/);
    // Effects a READ ONLY transaction lets through, whole families of them, schema-qualified or not.
    for (const call of [
      'pg_create_physical_replication_slot($1, true)',
      'pg_stat_reset()',
      'public.pg_stat_statements_reset()',
      'pg_advisory_lock_shared(1)',
      'pg_catalog.pg_advisory_unlock_all()',
      'lo_get(1)',
      'pg_ls_waldir()',
    ]) {
      const params = call.includes('$1') ? ['slot'] : [];
      expect((await check(`SELECT ${call}`, params)).problems, call).toEqual([
        expect.stringMatching(/^Calls a function with side effects: /),
      ]);
    }
    expect((await check('SELECT pg_column_size(t), pg_typeof(a) FROM t', [])).problems).toEqual([]);
    expect((await check("SELECT 'unterminated", [])).problems[0]).toMatch(/unterminated/i);
  });
});
