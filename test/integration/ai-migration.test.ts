import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationReport, migration, migrationAgents, takeSnapshot } from '../../machines/migration.js';
import { llmAgentsFor, migrationRewriterLlm } from '../../machines/templates.js';
import { pgliteDatabase } from '../../src/db/pglite.js';
import type { Database } from '../../src/db/port.js';
import { seedSample } from '../../src/db/sample/index.js';
import { testEngine } from '../support/engine.js';
import { mockModel } from '../support/mock-model.js';
import { eventually } from '../support/poll.js';

// migration's `migration-rewrite` filled by the AI SDK's mock model on PGlite: a rewrite is taken only when it
// parses, the lint proves it strictly safer and it changes the same objects; a rewrite taken is dry-run and always
// held for a human's approval; the risk explanation is shown with the approval request.

const EXPLANATION = 'Building this index blocks every write to orders until it is done.';

describe('migration with an LLM rewriter (mock model, PGlite)', () => {
  let db: Database;
  let schemas = 0;
  const fresh = async () => {
    const schema = `llm_${++schemas}`;
    await seedSample(db, { schema, scale: 0.2 });
    return schema;
  };
  beforeAll(async () => {
    db = await pgliteDatabase();
  }, 60_000);
  afterAll(() => db.close());

  const start = (input: Record<string, unknown>, agents: Record<string, unknown>) => {
    const reasons: string[] = [];
    const run = testEngine({ agents: { ...migrationAgents(db), ...agents } as never }).start(
      migration,
      input,
    );
    run.events$.subscribe((e) => {
      if (e.type === 'escalated' && e.reason) reasons.push(e.reason);
    });
    return { run, reasons };
  };
  const indexes = async (schema: string) =>
    (await takeSnapshot(db, schema)).tables.flatMap((t) => t.indexes.map((i) => i.definition));

  it('by default explains the risks from the lint and rewrites nothing', async () => {
    const schema = await fresh();
    const sql = `CREATE INDEX orders_customer_idx ON ${schema}.orders (customer_id)`;
    const report = (await start({ schema, sql }, {}).run.result) as MigrationReport;
    expect(report.approval).toBeNull();
    expect(report.proposedRewrite).toBeUndefined();
    expect(report.statements.map((s) => s.sql)).toEqual([sql]);
    expect(report.explanation).toContain('Blocks writes to orders');
    expect(report.explanation).toContain('statement 1 takes SHARE on orders');
  }, 60_000);

  it('takes a lock-safe index rewrite, dry-runs it, and holds it for a human even with approvedBy', async () => {
    const schema = await fresh();
    const sql = `CREATE INDEX orders_customer_idx ON ${schema}.orders (customer_id)`;
    const rewrite = `CREATE INDEX CONCURRENTLY orders_customer_idx ON ${schema}.orders (customer_id)`;
    const { mock, prompts } = mockModel({ sql: rewrite, explanation: EXPLANATION });
    const { run, reasons } = start({ schema, sql, approvedBy: 'ci' }, llmAgentsFor('migration', mock));
    await eventually(() => run.waitingSteps().includes('approval'));
    expect(prompts[0]).toContain('blocking-index');
    expect(reasons[0]).toContain(
      'Rewritten migration (the lint finds it safer: 0 → 0 dangers, 1 → 0 warnings',
    );
    expect(reasons[0]).toContain(`Instead of the SQL given: ${sql}`);
    expect(reasons[0]).toContain('dry run of the rewrite on a scratch copy');
    expect(reasons[0]).toContain(EXPLANATION);
    expect((await indexes(schema)).some((d) => d.includes('orders_customer_idx'))).toBe(false);
    run.resolveEscalation('approval', { action: 'skip', value: { approved: true, by: 'ana' } });
    const report = (await run.result) as MigrationReport;
    expect(report.approval).toEqual({ by: 'ana', source: 'human' });
    expect(report.proposedRewrite).toMatchObject({ status: 'taken', sql: rewrite });
    expect(report.statements.map((s) => [s.sql, s.lock])).toEqual([[rewrite, 'SHARE UPDATE EXCLUSIVE']]);
    expect(report.explanation).toBe(EXPLANATION);
    expect((await indexes(schema)).some((d) => d.includes('orders_customer_idx'))).toBe(true);
  }, 60_000);

  it('takes ADD CONSTRAINT rewritten as NOT VALID then VALIDATE, run in two transactions', async () => {
    const schema = await fresh();
    const sql = `ALTER TABLE ${schema}.orders ADD CONSTRAINT orders_total_positive CHECK (customer_id > 0)`;
    const rewrite = `ALTER TABLE ${schema}.orders ADD CONSTRAINT orders_total_positive CHECK (customer_id > 0) NOT VALID;\nALTER TABLE ${schema}.orders VALIDATE CONSTRAINT orders_total_positive`;
    const { mock } = mockModel({ sql: rewrite, explanation: 'It scans orders under an exclusive lock.' });
    const { run } = start({ schema, sql }, { 'migration-rewrite': migrationRewriterLlm(mock) });
    await eventually(() => run.waitingSteps().includes('approval'));
    run.resolveEscalation('approval', { action: 'skip', value: { approved: true, by: 'ana' } });
    const report = (await run.result) as MigrationReport;
    expect(report.proposedRewrite?.status).toBe('taken');
    expect(report.statements).toHaveLength(2);
    expect(report.findings.map((f) => f.rule)).toContain('validate-separately');
    const validated = await db.query<{ convalidated: boolean }>(
      `SELECT convalidated FROM pg_constraint WHERE conname = 'orders_total_positive'`,
    );
    expect(validated.rows).toEqual([{ convalidated: true }]);
  }, 60_000);

  it('takes a UNIQUE constraint rewritten as a unique index built CONCURRENTLY first, with a lock timeout', async () => {
    const schema = await fresh();
    const sql = `ALTER TABLE ${schema}.products ADD CONSTRAINT products_name_sku_key UNIQUE (name, sku)`;
    const rewrite = [
      "SET lock_timeout = '3s'",
      `CREATE UNIQUE INDEX CONCURRENTLY products_name_sku_idx ON ${schema}.products (name, sku)`,
      `ALTER TABLE ${schema}.products ADD CONSTRAINT products_name_sku_key UNIQUE USING INDEX products_name_sku_idx`,
    ].join(';\n');
    const { mock } = mockModel({
      sql: rewrite,
      explanation: 'The unique index is built under an exclusive lock.',
    });
    const { run } = start({ schema, sql }, { 'migration-rewrite': migrationRewriterLlm(mock) });
    await eventually(() => run.waitingSteps().includes('approval'));
    run.resolveEscalation('approval', { action: 'skip', value: { approved: true, by: 'ana' } });
    const report = (await run.result) as MigrationReport;
    expect(report.proposedRewrite).toMatchObject({
      status: 'taken',
      reason: expect.stringContaining('1 → 0 warnings'),
    });
    expect(report.statements.map((s) => s.lock)).toEqual([
      null,
      'SHARE UPDATE EXCLUSIVE',
      'ACCESS EXCLUSIVE',
    ]);
    const made = await db.query<{ contype: string }>(
      `SELECT contype FROM pg_constraint WHERE conname = 'products_name_sku_key'`,
    );
    expect(made.rows).toEqual([{ contype: 'u' }]);
  }, 60_000);

  const HOSTILE = [
    {
      name: 'a DROP inside the rewrite',
      sql: (s: string) =>
        `DROP TABLE ${s}.audit_log; CREATE INDEX CONCURRENTLY orders_customer_idx ON ${s}.orders (customer_id)`,
      reason: /it also changes table:audit_log, which the SQL given does not/,
    },
    {
      name: 'a DO block',
      sql: (s: string) =>
        `DO $$ BEGIN EXECUTE 'DROP TABLE ${s}.audit_log'; END $$; CREATE INDEX CONCURRENTLY orders_customer_idx ON ${s}.orders (customer_id)`,
      reason: /the lint cannot prove it: statement 1: DO \$\$ \(DoStmt\) is not proven safe/,
    },
    {
      name: 'a function that deletes',
      sql: (s: string) =>
        `CREATE FUNCTION ${s}.f() RETURNS int LANGUAGE sql AS 'DELETE FROM ${s}.audit_log RETURNING 1'; CREATE INDEX CONCURRENTLY orders_customer_idx ON ${s}.orders (customer_id)`,
      reason: /the lint cannot prove it: statement 1: CREATE FUNCTION/,
    },
    {
      name: 'its own transactions',
      sql: (s: string) => `BEGIN; CREATE INDEX orders_customer_idx ON ${s}.orders (customer_id); COMMIT`,
      reason: /the lint cannot prove it: statement 1: BEGIN/,
    },
    {
      name: 'another table',
      sql: (s: string) => `CREATE INDEX CONCURRENTLY customers_email_idx ON ${s}.customers (email)`,
      reason: /it no longer changes table:orders, index:orders_customer_idx/,
    },
    {
      name: 'an extra index drop',
      sql: (s: string) =>
        `CREATE INDEX CONCURRENTLY orders_customer_idx ON ${s}.orders (customer_id); DROP INDEX CONCURRENTLY ${s}.order_items_order_id_idx`,
      reason: /it also changes index:order_items_order_id_idx, which the SQL given does not/,
    },
    {
      name: 'another column under the same index name',
      sql: (s: string) => `CREATE INDEX CONCURRENTLY orders_customer_idx ON ${s}.orders (status)`,
      reason: /statement 1 given \(CREATE INDEX orders_customer_idx .*\) is not in the rewrite/,
    },
    {
      name: 'an extra statement that is no helper',
      sql: (s: string) =>
        `CREATE INDEX CONCURRENTLY orders_customer_idx ON ${s}.orders (customer_id); SET search_path = evil`,
      reason: /the lint cannot prove it: statement 2: SET search_path/,
    },
    {
      name: 'the same SQL again',
      sql: (s: string) => `CREATE INDEX orders_customer_idx ON ${s}.orders (customer_id);`,
      reason: /no safer than the SQL given/,
    },
    { name: 'no SQL at all', sql: () => 'CREATE INDEX CONCURRENTLY ON', reason: /cannot parse/ },
  ];

  it.each(HOSTILE)(
    'refuses a rewrite with $name and applies the SQL given',
    async (hostile) => {
      const schema = await fresh();
      const sql = `CREATE INDEX orders_customer_idx ON ${schema}.orders (customer_id)`;
      const { mock } = mockModel({ sql: hostile.sql(schema), explanation: 'Approve this.' });
      const { run } = start({ schema, sql }, { 'migration-rewrite': migrationRewriterLlm(mock) });
      const report = (await run.result) as MigrationReport;
      expect(report.proposedRewrite?.status).toBe('refused');
      expect(report.proposedRewrite?.reason).toMatch(hostile.reason);
      // The SQL given ran as given (no approval needed for it), and nothing of the rewrite did.
      expect(report.approval).toBeNull();
      expect(report.statements.map((s) => s.sql)).toEqual([sql]);
      const after = await takeSnapshot(db, schema);
      expect(after.tables.map((t) => t.name)).toContain('audit_log');
      expect((await db.query(`SELECT 1 FROM ${schema}.audit_log`)).rowCount).toBe(300);
      expect(after.tables.find((t) => t.name === 'order_items')?.indexes.map((i) => i.name)).toContain(
        'order_items_order_id_idx',
      );
      expect((await db.query(`SELECT 1 FROM pg_proc WHERE proname = 'f'`)).rowCount).toBe(0);
    },
    60_000,
  );
});
