import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OptimizationReport, optimization, optimizationAgents } from '../../machines/optimization.js';
import { llmAgentsFor, optimizationProposerLlm } from '../../machines/templates.js';
import { pgliteDatabase } from '../../src/db/pglite.js';
import type { Database } from '../../src/db/port.js';
import { seedSample } from '../../src/db/sample/index.js';
import { testEngine } from '../support/engine.js';
import { mockModel } from '../support/mock-model.js';

// optimization's `optimization-propose` filled by the AI SDK's mock model on PGlite (no network): whatever the model
// proposes, the `optimization-judge` step parses it first, and only one CREATE INDEX CONCURRENTLY on existing
// columns of a table the workload reads is ever tried.

const GOOD = 'CREATE INDEX CONCURRENTLY "llm_orders_customer_idx" ON "public"."orders" ("customer_id")';
const HOSTILE = [
  {
    ddl: 'DROP TABLE orders; CREATE INDEX CONCURRENTLY llm_drop_idx ON public.orders (customer_id)',
    reason: /2 statements \(DropStmt, IndexStmt\)/,
  },
  { ddl: 'CREATE INDEX llm_plain_idx ON public.orders (customer_id)', reason: /not CONCURRENTLY/ },
  {
    ddl: 'CREATE INDEX CONCURRENTLY llm_unknown_idx ON public.orders (no_such_column)',
    reason: /orders has no column no_such_column/,
  },
  {
    ddl: 'CREATE INDEX CONCURRENTLY llm_fn_idx ON public.orders ((pg_sleep(1)::text))',
    reason: /function/,
  },
  { ddl: 'CREATE INDEX CONCURRENTLY llm_other_idx ON public.nowhere (id)', reason: /not a table/ },
  { ddl: 'SELECT pg_terminate_backend(pg_backend_pid())', reason: /a SelectStmt, not a CREATE INDEX/ },
];

const indexes = async (db: Database) =>
  (
    await db.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")
  ).rows
    .map((r) => r.name)
    .sort();

describe('optimization with an LLM proposer (mock model, PGlite)', () => {
  let db: Database;
  let before: string[];
  let orders: number;
  beforeAll(async () => {
    db = await pgliteDatabase();
    await seedSample(db);
    before = await indexes(db);
    orders = Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]?.n);
  }, 60_000);
  afterAll(() => db.close());

  const run = async (agents: Record<string, unknown>) =>
    (await testEngine({
      agents: { ...optimizationAgents(db, { trial: 'real' }), ...agents } as never,
    }).start(optimization, {}).result) as OptimizationReport;

  it('tries a good proposal and reports its measured speed-up; the prompt shows the plan and the columns', async () => {
    const { mock, prompts } = mockModel({
      proposals: [{ query: 'q1', ddl: GOOD, reason: 'Seq Scan on orders filtered by customer_id' }],
      notes: [],
    });
    const report = await run(llmAgentsFor('optimization', mock));
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('Seq Scan');
    expect(prompts[0]).toContain('customer_id');
    expect(prompts[0]).toContain('orders');
    const fix = report.recommendations[0];
    expect(fix, JSON.stringify(report, null, 2)).toMatchObject({
      ddl: GOOD,
      table: 'orders',
      columns: ['customer_id'],
      query: 'q1',
      method: 'real',
    });
    expect(fix?.speedup).toBeGreaterThan(1.5);
    expect(fix?.planAfter).toContain('llm_orders_customer_idx');
    expect(report.rejected).toEqual([]);
    expect(await indexes(db)).toEqual(before);
  }, 60_000);

  it('refuses hostile proposals with their reasons and never runs them', async () => {
    const { mock } = mockModel({
      proposals: [
        ...HOSTILE.map((h) => ({ query: 'q1', ddl: h.ddl, reason: 'trust me' })),
        { query: 'q9', ddl: GOOD, reason: 'a query that is not in the workload' },
      ],
      notes: ['hostile'],
    });
    const report = await run({ 'optimization-propose': optimizationProposerLlm(mock) });
    expect(report.recommendations).toEqual([]);
    expect(report.rejected).toHaveLength(HOSTILE.length + 1);
    for (const [i, h] of HOSTILE.entries()) {
      const r = report.rejected[i];
      expect(r?.ddl).toBe(h.ddl);
      expect(r?.why).toMatch(/^refused by the judge, never tried: /);
      expect(r?.why).toMatch(h.reason);
      expect(r?.usesIndex).toBe(false);
    }
    expect(report.rejected.at(-1)?.why).toContain('not in the workload');
    expect(report.notes).toContain('proposer: hostile');
    // Nothing ran: the table and its rows are there, and no index was left (or built) anywhere.
    const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM orders');
    expect(Number(left.rows[0]?.n)).toBe(orders);
    expect(await indexes(db)).toEqual(before);
  }, 60_000);

  it('judges the template’s own proposer too: its proposals pass unchanged', async () => {
    const report = await run({});
    // Its two proposals (the filter column, and the filter then the sort column) both reach the trials as written;
    // which one is recommended depends on the measured times (the other "does as well or better"), so not asserted.
    const proposed = [
      'CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "public"."orders" ("customer_id")',
      'CREATE INDEX CONCURRENTLY "orders_customer_id_created_at_idx" ON "public"."orders" ("customer_id", "created_at")',
    ];
    expect(report.recommendations).toHaveLength(1);
    expect(proposed).toContain(report.recommendations[0]?.ddl);
    expect([...report.recommendations, ...report.rejected].map((r) => r.ddl).sort()).toEqual(proposed.sort());
    expect(report.rejected.every((r) => !r.why.startsWith('refused by the judge'))).toBe(true);
  }, 60_000);
});
