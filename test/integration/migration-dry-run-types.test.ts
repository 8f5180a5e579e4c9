import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migration, template } from '../../machines/migration.js';
import type { Database } from '../../src/db/port.js';
import type { AgentFunction } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';
import { catalogDump } from '../support/migration-shapes/catalog-dump.js';

// Found by review: the schema's types were not copied into the dry run's scratch copy, so a migration naming one with
// the schema (`ALTER TYPE s.tag ...`, `ALTER DOMAIN s.amount ...`, a column `s.address`) failed its dry run though it
// would apply, and one naming it unqualified changed (and locked) the target's own type, rolled back. Now the copy
// has copies of the enum, composite and domain types; a type it cannot copy (a function's, a range type, another
// schema's) is refused before anything runs when a statement would change it or name it with the schema. Whatever
// the dry run does, the database is as it was: a dump of its catalogs, sequences and rows is compared before and after.

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('types in the dry run ($name)', (adapter) => {
  let db: Database;
  let schemas = 0;
  beforeAll(async () => {
    db = await adapter.open();
  }, 60_000);

  /**
   * Tags in an enum (and arrays of it), codes in a domain over a domain as a varchar key, prices in a domain with a
   * CHECK used by a table and a partitioned one, a composite address; a grade enum a function takes, a range type,
   * and an enum of another schema.
   */
  const fresh = async () => {
    const s = `types_${++schemas}`;
    for (const sql of [
      `CREATE SCHEMA ${s}`,
      `CREATE TYPE ${s}.tag AS ENUM ('new', 'hot', 'sale')`,
      `CREATE DOMAIN ${s}.code AS varchar(12) CONSTRAINT code_upper CHECK (VALUE ~ '^[A-Z]')`,
      `CREATE DOMAIN ${s}.sku AS ${s}.code CONSTRAINT sku_long CHECK (length(VALUE) >= 5)`,
      `CREATE DOMAIN ${s}.amount AS numeric(12, 2) CONSTRAINT amount_positive CHECK (VALUE > 0)`,
      `CREATE TYPE ${s}.address AS (street text, city varchar(40), tags ${s}.tag[])`,
      `CREATE TABLE ${s}.item (sku ${s}.sku PRIMARY KEY, price ${s}.amount, tags ${s}.tag[] DEFAULT '{new}')`,
      `CREATE TABLE ${s}.sale (id int, at date, sku ${s}.sku, price ${s}.amount, PRIMARY KEY (at, id))
         PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.sale_2024 PARTITION OF ${s}.sale FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      `CREATE TABLE ${s}.sale_2025 PARTITION OF ${s}.sale FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
      `CREATE TABLE ${s}.customer (email varchar(80) PRIMARY KEY, home ${s}.address, fav ${s}.tag)`,
      `CREATE TYPE ${s}.grade AS ENUM ('a', 'b')`,
      `CREATE FUNCTION ${s}.grade_rank(${s}.grade) RETURNS int LANGUAGE sql IMMUTABLE
         AS $$ SELECT CASE WHEN $1 = 'a' THEN 1 ELSE 2 END $$`,
      `CREATE TABLE ${s}.review (id int PRIMARY KEY, grade ${s}.grade)`,
      `CREATE TYPE ${s}.span AS RANGE (subtype = date)`,
      `DROP SCHEMA IF EXISTS ${s}_other CASCADE`,
      `CREATE SCHEMA ${s}_other`,
      `CREATE TYPE ${s}_other.kind AS ENUM ('x')`,
      `INSERT INTO ${s}.item VALUES ('SKU-1', 5.00, '{new,hot}'), ('SKU-22', 250.00, NULL)`,
      `INSERT INTO ${s}.sale VALUES (1, '2024-05-01', 'SKU-1', 5.00), (2, '2025-05-01', 'SKU-22', 500.00)`,
      `INSERT INTO ${s}.customer VALUES ('a@x.io', ROW('1 Main St', 'Oslo', '{sale}'), 'hot'), ('b@x.io', NULL, NULL)`,
      `INSERT INTO ${s}.review VALUES (1, 'a'), (2, 'b')`,
    ])
      await db.query(sql);
    return s;
  };
  /** A run whose apply never happens: only the dry run touches the database. */
  const dryRunOnly = (schema: string, sql: string) => {
    const apply: AgentFunction = async () => {
      throw new Error('not applied');
    };
    return testEngine({ agents: { ...template.agents(db), 'migration-apply': apply } }).start(migration, {
      schema,
      approvedBy: 'ann',
      sql,
    });
  };
  const failure = async (run: { result: Promise<unknown> }) =>
    (await run.result.catch((e: unknown) => e)) as { stepPath?: string; cause?: unknown };

  it("dry-runs changes to the schema's enum, composite and domain types named with the schema on copies of them, leaving the database as it was", async () => {
    const schema = await fresh();
    const before = await catalogDump(db);
    for (const sql of [
      [
        `ALTER TYPE ${schema}.tag RENAME VALUE 'sale' TO 'promo'`,
        `ALTER TYPE ${schema}.tag ADD VALUE 'gift'`,
        `ALTER DOMAIN ${schema}.amount ADD CONSTRAINT amount_cap CHECK (VALUE < 10000)`,
        `ALTER DOMAIN ${schema}.sku SET DEFAULT 'SKU-00'`,
        `ALTER TYPE ${schema}.address ADD ATTRIBUTE zip varchar(10)`,
        `INSERT INTO ${schema}.item VALUES ('SKU-333', 7.50, '{promo}'::${schema}.tag[])`,
        `UPDATE ${schema}.customer SET home = ROW('2 Quay', 'Bergen', '{hot}', '5003')::${schema}.address
           WHERE email = 'b@x.io'`,
        // Unqualified: the copy is found first.
        `ALTER TYPE address RENAME ATTRIBUTE city TO town`,
        `COMMENT ON DOMAIN ${schema}.amount IS 'money'`,
      ].join('; '),
      `ALTER DOMAIN ${schema}.code RENAME TO ref; DROP DOMAIN ${schema}.ref CASCADE`,
      `DROP TYPE ${schema}.tag CASCADE`,
    ]) {
      const error = await failure(dryRunOnly(schema, sql));
      // The dry run passed (the apply was stopped).
      expect(error.stepPath, String(error.cause)).toBe('apply');
      expect(await catalogDump(db)).toEqual(before);
    }
  });

  it('fails the dry run of a CHECK added to a domain that rows of a table the migration does not name break', async () => {
    const schema = await fresh();
    const before = await catalogDump(db);
    // The partitioned sale has a price of 500.00: its rows are copied, and the CHECK fails there as on the target.
    const error = await failure(
      dryRunOnly(schema, `ALTER DOMAIN ${schema}.amount ADD CONSTRAINT amount_cap CHECK (VALUE < 300)`),
    );
    expect(error.stepPath).toBe('dryRun');
    expect(String(error.cause)).toMatch(/"sale_2025" contains values that violate the new constraint/);
    expect(await catalogDump(db)).toEqual(before);
  });

  it('refuses before anything runs a change to a type the copy has not, or one named with the schema', async () => {
    const schema = await fresh();
    const before = await catalogDump(db);
    for (const [sql, reason] of [
      [
        `ALTER TYPE ${schema}.grade ADD VALUE 'c'`,
        /changes type .*grade, which the copy has not \(function .*grade_rank/,
      ],
      // Unqualified, it would find the target's: the copy has none of that name.
      [`ALTER TYPE grade RENAME VALUE 'a' TO 'aa'`, /changes type .*grade, which the copy has not/],
      [`ALTER TYPE ${schema}_other.kind ADD VALUE 'y'`, /changes type .*_other\.kind of another schema/],
      [
        `ALTER TABLE ${schema}.item ADD COLUMN period ${schema}.span`,
        /names type .*span.*it is a range type/,
      ],
    ] as const) {
      const error = await failure(dryRunOnly(schema, sql));
      expect(error.stepPath, sql).toBe('dryRun');
      expect(String(error.cause)).toMatch(/Not dry-run/);
      expect(String(error.cause)).toMatch(reason);
      expect(await catalogDump(db)).toEqual(before);
    }
    // Named unqualified, a type the copy has not is the target's, and only read.
    const read = await failure(
      dryRunOnly(
        schema,
        `ALTER TABLE item ADD COLUMN period span; UPDATE review SET grade = 'b' WHERE id = 1`,
      ),
    );
    expect(read.stepPath, String(read.cause)).toBe('apply');
    expect(await catalogDump(db)).toEqual(before);
  });

  it("applies type changes dry-run on the copy, the verification comparing the copy's types", async () => {
    const schema = await fresh();
    const report = await testEngine({ agents: template.agents(db) }).start(migration, {
      schema,
      approvedBy: 'ann',
      sql: `ALTER TYPE ${schema}.tag RENAME VALUE 'sale' TO 'promo'; ALTER DOMAIN ${schema}.amount ADD CONSTRAINT amount_cap CHECK (VALUE < 10000); ALTER DOMAIN ${schema}.sku SET DEFAULT 'SKU-00'`,
    }).result;
    expect(report).toMatchObject({ status: 'applied', dryRun: { reversible: true } });
    expect(report.changes.map((c) => c.object).sort()).toEqual([
      'domain constraint amount.amount_cap',
      'domain sku',
      'enum tag',
    ]);
  });
});
