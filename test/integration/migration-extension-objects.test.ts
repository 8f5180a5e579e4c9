import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareSnapshots,
  type MigrationInput,
  migration,
  takeSnapshot,
  template,
} from '../../machines/migration.js';
import type { Database } from '../../src/db/port.js';
import type { AgentFunction } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';

// Objects an extension owns in the migrated schema (HypoPG's view, which the optimizer template needs; a table, its
// sequence, index and key, and a view an install script made) are the extension's, not the schema's: the dry run's
// copy leaves them out, so the snapshots must too, or every migration on such a schema failed its verification
// ("view hypopg_list_indexes is unexpected") and was reverted.

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('migration on a schema holding extension objects ($name)', (adapter) => {
  let db: Database;
  let schemas = 0;
  beforeAll(async () => {
    db = await adapter.open();
  }, 60_000);

  const fresh = async (setup: (s: string) => string[]) => {
    const schema = `ext_${++schemas}`;
    await db.query(`CREATE SCHEMA ${schema}`);
    for (const sql of setup(schema)) await db.query(sql);
    return schema;
  };
  const start = (input: MigrationInput, agents = template.agents(db)) =>
    testEngine({ agents }).start(migration, input);
  const names = (snapshot: Awaited<ReturnType<typeof takeSnapshot>>) => [
    ...snapshot.tables.map((t) => t.name),
    ...snapshot.views.map((v) => v.name),
  ];
  const hasHypopg = async () =>
    (await db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'`)).rows.length > 0;

  it('applies and reverts migrations on a schema with HypoPG installed in it', async (ctx) => {
    if (!(await hasHypopg())) ctx.skip(); // PGlite has no HypoPG.
    // One extension per database: both migrations on the same schema.
    const schema = await fresh((s) => [
      `CREATE EXTENSION hypopg SCHEMA ${s}`,
      `CREATE TABLE ${s}.customer (id int PRIMARY KEY, name text)`,
      `INSERT INTO ${s}.customer VALUES (1, 'ann')`,
    ]);
    const applied = await start({ schema, sql: `ALTER TABLE ${schema}.customer ADD COLUMN email text` })
      .result;
    expect(applied).toMatchObject({ status: 'applied', dryRun: { reversible: true } });

    const before = await takeSnapshot(db, schema);
    expect(names(before)).toEqual(['customer']);
    const base = template.agents(db);
    // A table nobody planned appears after the apply: the verification fails and the revert runs.
    const apply: AgentFunction = async (input, ctx) => {
      const output = await (base['migration-apply'] as AgentFunction)(input, ctx);
      await db.query(`CREATE TABLE ${schema}.intruder (x int)`);
      return output;
    };
    const run = start(
      { schema, approvedBy: 'ann', sql: `ALTER TABLE ${schema}.customer DROP COLUMN name` },
      { ...base, 'migration-apply': apply },
    );
    const error = (await run.result.catch((e: unknown) => e)) as { cause?: unknown };
    expect(String(error.cause)).toMatch(/intruder is unexpected/);
    expect(String(error.cause)).not.toMatch(/hypopg/);
    expect(run.status).toBe('compensated');
    await db.query(`DROP TABLE ${schema}.intruder`);
    expect(compareSnapshots(before, await takeSnapshot(db, schema))).toEqual([]);
    expect((await db.query(`SELECT count(*)::int AS n FROM ${schema}.hypopg_list_indexes`)).rows).toEqual([
      { n: 0 },
    ]);
  });

  it('leaves out the tables, sequences, indexes, keys and views an extension owns, and applies beside them', async () => {
    // As an extension's install script makes them (PostGIS's spatial_ref_sys, for one): plpgsql is on both databases.
    const schema = await fresh((s) => [
      `CREATE TABLE ${s}.ext_ref (id serial PRIMARY KEY, code text UNIQUE, note text)`,
      `CREATE INDEX ext_ref_note ON ${s}.ext_ref (note)`,
      `CREATE VIEW ${s}.ext_codes AS SELECT code FROM ${s}.ext_ref`,
      `ALTER EXTENSION plpgsql ADD TABLE ${s}.ext_ref`,
      `ALTER EXTENSION plpgsql ADD SEQUENCE ${s}.ext_ref_id_seq`,
      `ALTER EXTENSION plpgsql ADD VIEW ${s}.ext_codes`,
      `CREATE TABLE ${s}.place (id int PRIMARY KEY, name text)`,
      `CREATE VIEW ${s}.place_names AS SELECT name FROM ${s}.place`,
    ]);
    const report = await start({
      schema,
      sql: `ALTER TABLE ${schema}.place ADD COLUMN code text; CREATE INDEX place_code ON ${schema}.place (code)`,
    }).result;
    expect(report).toMatchObject({ status: 'applied', dryRun: { reversible: true } });
    expect(names(await takeSnapshot(db, schema))).toEqual(['place', 'place_names']);
    expect((await db.query(`SELECT count(*)::int AS n FROM ${schema}.ext_codes`)).rows).toEqual([{ n: 0 }]);
  });
});
