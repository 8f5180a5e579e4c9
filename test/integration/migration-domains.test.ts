import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSnapshots, migration, takeSnapshot, template } from '../../machines/migration.js';
import type { Database } from '../../src/db/port.js';
import type { AgentFunction } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';
import { domainOf } from '../support/migration-shapes/domains.js';

// Found by review: domains were not in the snapshot. A migration that dropped or altered one (`DROP DOMAIN ...
// CASCADE`, `ALTER DOMAIN ... ADD / DROP CONSTRAINT`, `SET DEFAULT`, `RENAME`) was not put back by the revert, and
// the verification did not name the difference. The shapes of `migration-shapes/domains.ts` revert them; here, the
// verification and a revert that cannot put a domain back name it.

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('domains in the verification ($name)', (adapter) => {
  let db: Database;
  let schemas = 0;
  beforeAll(async () => {
    db = await adapter.open();
  }, 60_000);

  /** Codes in a domain with a CHECK as a varchar key and in a partitioned table; amounts in a domain over numeric. */
  const fresh = async () => {
    const s = `domains_${++schemas}`;
    for (const sql of [
      `CREATE SCHEMA ${s}`,
      `CREATE DOMAIN ${s}.code AS varchar(12) CONSTRAINT code_upper CHECK (VALUE ~ '^[A-Z]')`,
      `CREATE DOMAIN ${s}.amount AS numeric(12, 2) NOT NULL DEFAULT 1 CONSTRAINT amount_positive CHECK (VALUE > 0)`,
      `CREATE TABLE ${s}.account (code ${s}.code PRIMARY KEY, balance ${s}.amount)`,
      `CREATE TABLE ${s}.entry (code ${s}.code, at date, amount ${s}.amount) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.entry_2025 PARTITION OF ${s}.entry FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
      `INSERT INTO ${s}.account VALUES ('A-1', 10), ('A-2', 20)`,
      `INSERT INTO ${s}.entry VALUES ('A-1', '2025-01-01', 10), ('A-2', '2025-01-02', 20)`,
    ])
      await db.query(sql);
    return s;
  };
  /** The agents, with something changing the schema behind the migration's back right after the apply. */
  const meddled = (...meddle: string[]) => {
    const base = template.agents(db);
    const apply: AgentFunction = async (input, ctx) => {
      const output = await (base['migration-apply'] as AgentFunction)(input, ctx);
      for (const sql of meddle) await db.query(sql);
      return output;
    };
    return { ...base, 'migration-apply': apply };
  };

  it('names a domain the apply left otherwise than the dry run did, and reverts the migration', async () => {
    const schema = await fresh();
    const run = testEngine({
      agents: meddled(
        `ALTER DOMAIN ${schema}.amount DROP CONSTRAINT amount_positive`,
        `ALTER DOMAIN ${schema}.amount SET DEFAULT 2`,
      ),
    }).start(migration, {
      schema,
      approvedBy: 'ann',
      sql: `ALTER DOMAIN ${schema}.code ADD CONSTRAINT code_short CHECK (length(VALUE) <= 8)`,
    });
    const error = (await run.result.catch((e: unknown) => e)) as { stepPath?: string; cause?: unknown };
    expect(error.stepPath).toBe('verify');
    expect(String(error.cause)).toMatch(/domain constraint amount\.amount_positive is missing/);
    expect(String(error.cause)).toMatch(
      /domain amount differs \(expected numeric\(12,2\) DEFAULT 1 NOT NULL, got numeric\(12,2\) DEFAULT 2 NOT NULL\)/,
    );
    expect(run.status).toBe('compensated');
    // The migration's own change is reverted.
    expect((await domainOf(db, schema, 'code'))?.checks).toEqual([
      "code_upper: CHECK (((VALUE)::text ~ '^[A-Z]'::text))",
    ]);
  });

  it('says the dry run cannot revert a domain made again over another type, and a revert after it changes nothing', async () => {
    const schema = await fresh();
    const sql = (s: string) =>
      `DROP DOMAIN ${s}.code CASCADE; CREATE DOMAIN ${s}.code AS text; ALTER TABLE ${s}.account ADD COLUMN code ${s}.code`;
    const run = testEngine({ agents: meddled(`CREATE TABLE ${schema}.intruder (x int)`) }).start(migration, {
      schema,
      approvedBy: 'ann',
      sql: sql(schema),
    });
    const error = (await run.result.catch((e: unknown) => e)) as { compensationErrors?: unknown };
    expect(run.status).toBe('failed');
    expect(JSON.stringify(error.compensationErrors)).toMatch(
      /The revert did not restore the schema: domain code differs \(expected character varying\(12\), got text\)/,
    );
    // All or nothing: the migration's changes stay, as the dry run said.
    await db.query(`DROP TABLE ${schema}.intruder`);
    const now = await takeSnapshot(db, schema);
    expect(now.domains?.find((d) => d.name === 'code')?.type).toBe('text');
    expect(compareSnapshots(now, await takeSnapshot(db, schema))).toEqual([]);
    const other = await fresh();
    const preview = await testEngine({ agents: template.agents(db) }).start(migration, {
      schema: other,
      approvedBy: 'ann',
      sql: sql(other),
    }).result;
    expect(preview.dryRun).toMatchObject({ reversible: false });
    expect(preview.dryRun.revertProblem).toMatch(
      /domain code differs \(expected character varying\(12\), got text\)/,
    );
  });
});
