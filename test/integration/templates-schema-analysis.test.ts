import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../machines/lib/catalog.js';
import { indexHealth } from '../../machines/schema-analysis/checks.js';
import { type SchemaReport, schemaAnalysis, template } from '../../machines/schema-analysis.js';
import type { Database } from '../../src/db/port.js';
import { PLANTED_PROBLEMS, seedSample } from '../../src/db/sample/index.js';
import { InputValidationError } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';
import { seedMusic, seedRental } from '../support/other-schemas.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

const planted = PLANTED_PROBLEMS.filter((p) => p.foundBy === 'schema-analysis');

describe.each(adapters.list)('the schema analysis template on $name', (adapter) => {
  let db: Database;
  let report: SchemaReport;
  beforeAll(async () => {
    db = await adapter.open();
    await seedSample(db);
    report = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, template.exampleInput)
      .result;
  }, 60_000);

  it.each(planted)('finds the planted $id', (problem) => {
    const match = report.findings.find(
      (f) =>
        f.kind === problem.kind &&
        f.table === problem.table &&
        (problem.target === undefined || f.target === problem.target),
    );
    expect(match, `${problem.id} in ${report.findings.map((f) => f.id).join(', ')}`).toBeDefined();
  });

  it('counts the NULL rows of a nullable foreign key', () => {
    const finding = report.findings.find((f) => f.id === 'nullable-foreign-key:products.category_id');
    expect(finding?.message).toContain('10 of 240 rows');
  });

  it('does not report healthy objects', () => {
    const ids = report.findings.map((f) => f.id);
    expect(ids).not.toContain('duplicate-index:order_items.order_items_product_id_idx');
    expect(ids.filter((id) => id.startsWith('missing-fk-index:'))).toEqual([
      'missing-fk-index:orders.customer_id',
    ]);
    expect(ids.filter((id) => id.startsWith('missing-primary-key:'))).toEqual([
      'missing-primary-key:audit_log',
    ]);
    expect(ids.filter((id) => id.startsWith('naming:'))).toEqual(['naming:product_reviews.customerId']);
  });

  it('takes the critical branch and dry-runs every fix, leaving the schema unchanged', async () => {
    expect(report.counts.critical).toBeGreaterThan(0);
    expect(report.path).toBe('remediation');
    expect(report.actions.length).toBeGreaterThan(0);
    expect(report.actions.every((a) => a.dryRun === 'ok')).toBe(true);
    // Lock-safe DDL only, tried on a scratch copy: no index is built or dropped on the live table meanwhile.
    expect(report.actions.every((a) => /CONCURRENTLY/.test(a.sql))).toBe(true);
    const index = await db.query("SELECT 1 FROM pg_indexes WHERE indexname = 'orders_customer_id_idx'");
    expect(index.rowCount).toBe(0);
  });

  it('judges no index unused on a freshly loaded database: no usage data yet', () => {
    expect(report.findings.filter((f) => f.kind === 'unused-index')).toEqual([]);
    expect(report.findings.find((f) => f.kind === 'no-usage-data')?.message).toMatch(/No usage data yet/);
  });

  it('scores the schema and sums up the catalog', () => {
    expect(report.score).toBeLessThan(100);
    expect(report.grade).toMatch(/^[A-F]$/);
    expect(report.overview).toMatchObject({ tables: 7, views: 1, foreignKeys: 6 });
  });

  it('takes the advice branch when nothing is critical', async () => {
    await db.query('ALTER TABLE audit_log ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY');
    try {
      const healthier = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {}).result;
      expect(healthier.counts.critical).toBe(0);
      expect(healthier.path).toBe('advice');
      expect(healthier.actions.every((a) => a.dryRun === 'not-tried')).toBe(true);
      expect(healthier.score).toBeGreaterThan(report.score);
    } finally {
      await db.query('ALTER TABLE audit_log DROP COLUMN id');
    }
  });

  // A key fed by a sequence made apart (DEFAULT nextval, not OWNED BY the column) overflows all the same.
  it('finds an integer key near overflow whose sequence its column does not own', async () => {
    for (const sql of [
      'DROP SCHEMA IF EXISTS seq_apart CASCADE',
      'CREATE SCHEMA seq_apart',
      'CREATE SEQUENCE seq_apart.t_id_seq',
      "CREATE TABLE seq_apart.t (id integer PRIMARY KEY DEFAULT nextval('seq_apart.t_id_seq'), note text)",
      "SELECT setval('seq_apart.t_id_seq', 2100000000)",
    ])
      await db.query(sql);
    const apart = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {
      schema: 'seq_apart',
    }).result;
    expect(apart.findings.find((f) => f.id === 'int-key-overflow:t.id')).toMatchObject({
      severity: 'critical',
      message: expect.stringContaining('seq_apart.t_id_seq is at 2100000000'),
    });
  });

  it('proposes one index for two foreign keys on the same column', async () => {
    for (const sql of [
      'DROP SCHEMA IF EXISTS two_fks CASCADE',
      'CREATE SCHEMA two_fks',
      'CREATE TABLE two_fks.a (id int PRIMARY KEY)',
      'CREATE TABLE two_fks.b (id int PRIMARY KEY)',
      'CREATE TABLE two_fks.c (id int PRIMARY KEY, ref int, CONSTRAINT c_a FOREIGN KEY (ref) REFERENCES two_fks.a, CONSTRAINT c_b FOREIGN KEY (ref) REFERENCES two_fks.b)',
    ])
      await db.query(sql);
    const twoFks = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {
      schema: 'two_fks',
    }).result;
    expect(twoFks.findings.filter((f) => f.id === 'missing-fk-index:c.ref')).toHaveLength(1);
  });

  it("leaves out an extension's own views installed in the schema (PostgreSQL)", async () => {
    const available = await db
      .query("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'")
      .catch(() => ({ rows: [] }));
    if (adapter.name !== 'postgres' || available.rows.length === 0) return;
    for (const sql of [
      'DROP SCHEMA IF EXISTS with_ext CASCADE',
      'CREATE SCHEMA with_ext',
      'CREATE TABLE with_ext.t (id bigint PRIMARY KEY)',
      'CREATE EXTENSION pg_stat_statements SCHEMA with_ext',
    ])
      await db.query(sql);
    try {
      const withExt = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {
        schema: 'with_ext',
      }).result;
      expect(withExt.overview).toMatchObject({ tables: 1, views: 0 });
      expect(withExt.findings.filter((f) => f.table.startsWith('pg_stat_statements'))).toEqual([]);
    } finally {
      await db.query('DROP EXTENSION pg_stat_statements');
    }
  });

  it('fails clearly for a schema that does not exist', async () => {
    const run = testEngine({ agents: template.agents(db) }).start(schemaAnalysis, { schema: 'nope' });
    await expect(run.result).rejects.toMatchObject({ code: 'STEP_FAILED', stepPath: 'introspect' });
  });
});

describe.each(adapters.list)('the schema analysis template on another shape ($name)', (adapter) => {
  let report: SchemaReport;
  let db: Database;
  beforeAll(async () => {
    db = await adapter.open();
    await seedMusic(db);
    report = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, template.exampleInput)
      .result;
  }, 60_000);
  const ids = () => report.findings.map((f) => f.id);

  it('analyses the schema that holds the tables, partitioned tables as their parent', () => {
    expect(report.schema).toBe('music');
    expect(report.overview).toMatchObject({ tables: 12, views: 1, foreignKeys: 0, partitioned: 1, enums: 1 });
    expect(report.findings.filter((f) => f.table.startsWith('Payment_'))).toEqual([]);
  });

  it('finds the integer key near overflow, money in real and timestamp without time zone', () => {
    expect(report.findings.find((f) => f.id === 'int-key-overflow:Ticket.TicketId')).toMatchObject({
      severity: 'critical',
      message: expect.stringContaining('93.1%'),
    });
    expect(ids()).toContain('float-money:Adjustment.Fee');
    expect(ids()).toContain('timestamp-without-time-zone:Invoice.InvoiceDate');
  });

  it('takes a foreign key of a partitioned table as indexed when every partition indexes it', async () => {
    await db.query(
      'ALTER TABLE music."Payment" ADD CONSTRAINT "PaymentCustomer" FOREIGN KEY ("CustomerId") REFERENCES music."Customer"',
    );
    await db.query('CREATE INDEX "Payment_2021_CustomerId" ON music."Payment_2021" ("CustomerId")');
    const run = () => testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {}).result;
    try {
      const partly = await run();
      const finding = partly.findings.find((f) => f.id === 'missing-fk-index:Payment.CustomerId');
      // The lock-safe fix: ON ONLY the parent, each partition's index built concurrently (or kept), attached.
      expect(finding?.fix?.split(';\n')).toEqual([
        'CREATE INDEX IF NOT EXISTS "Payment_CustomerId_idx" ON ONLY "music"."Payment" ("CustomerId")',
        'ALTER INDEX "music"."Payment_CustomerId_idx" ATTACH PARTITION "music"."Payment_2021_CustomerId"',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Payment_2022_CustomerId_idx" ON "music"."Payment_2022" ("CustomerId")',
        'ALTER INDEX "music"."Payment_CustomerId_idx" ATTACH PARTITION "music"."Payment_2022_CustomerId_idx"',
      ]);
      expect(partly.actions.find((a) => a.finding === finding?.id)?.dryRun).toBe('ok');
      for (const statement of finding?.fix?.split(';\n') ?? []) await db.query(statement);
      const fully = await run();
      expect(fully.findings.filter((f) => f.kind === 'missing-fk-index')).toEqual([]);
    } finally {
      await db.query('ALTER TABLE music."Payment" DROP CONSTRAINT "PaymentCustomer"');
      await db.query('DROP INDEX IF EXISTS music."Payment_CustomerId_idx", music."Payment_2021_CustomerId"');
    }
  });

  it('takes PascalCase as the convention, and reports no false positive', () => {
    expect(
      ids().filter(
        (id) => !/^(int-key-overflow|float-money|timestamp-without-time-zone|no-usage-data):/.test(id),
      ),
    ).toEqual([]);
  });
});

describe.each(adapters.list)('the schema analysis template on a DVD rental ($name)', (adapter) => {
  it('runs through every type and reports only what is true', async () => {
    const db = await adapter.open();
    await seedRental(db);
    const report = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {}).result;
    expect(report.findings.map((f) => f.id)).toEqual([
      'missing-fk-index:film.language_id',
      'missing-fk-index:rental.customer_id',
      'missing-fk-index:rental.staff_id',
      'no-usage-data:public',
    ]);
    expect(report.overview).toMatchObject({ tables: 6, views: 2, foreignKeys: 6, partitioned: 1, enums: 1 });
  });
});

describe('unused indexes', () => {
  const catalog = (statsSince: string, scans: number): Catalog => ({
    schema: 'public',
    statsSince,
    tables: [
      {
        name: 'orders',
        kind: 'table',
        estimatedRows: 1_000,
        sizeBytes: 0,
        scans,
        columns: [],
        constraints: [
          {
            name: 'orders_pkey',
            kind: 'p',
            columns: ['id'],
            definition: '',
            expression: null,
            validated: true,
            refSchema: null,
            refTable: null,
            refColumns: [],
          },
          {
            name: 'orders_customer_fk',
            kind: 'f',
            columns: ['customer_id'],
            definition: '',
            expression: null,
            validated: true,
            refSchema: 'public',
            refTable: 'customers',
            refColumns: ['id'],
          },
        ],
        indexes: [
          'orders_pkey:id',
          'orders_customer_id_idx:customer_id',
          'orders_created_at_idx:created_at',
        ].map((s) => {
          const [name = '', column = ''] = s.split(':');
          const primary = name.endsWith('pkey');
          return {
            name,
            columns: [column],
            definition: '',
            method: 'btree',
            unique: primary,
            primary,
            valid: true,
            predicate: null,
            backsConstraint: primary,
            scans: 0,
            sizeBytes: 8192,
          };
        }),
      },
    ],
  });
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString();

  it('are reported only with a week of statistics and enough scans, never when they back a foreign key', () => {
    expect(indexHealth(catalog(monthAgo, 50_000)).map((f) => f.id)).toEqual([
      'unused-index:orders.orders_created_at_idx',
    ]);
    expect(indexHealth(catalog(new Date().toISOString(), 50_000)).map((f) => f.kind)).toEqual([
      'no-usage-data',
    ]);
    expect(indexHealth(catalog(monthAgo, 10)).map((f) => f.kind)).toEqual(['no-usage-data']);
  });
});

describe('the schema analysis definition', () => {
  it('validates its input and has a JSON form', () => {
    expect(() =>
      testEngine({ agents: template.agents({} as Database) }).start(schemaAnalysis, { schema: 42 } as never),
    ).toThrow(InputValidationError);
    expect(schemaAnalysis.toJSON()).toMatchObject({ id: 'schema-analysis' });
    expect(template.id).toBe(schemaAnalysis.id);
  });
});
