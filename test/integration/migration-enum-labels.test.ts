import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareSnapshots,
  migration,
  migrationAgents,
  takeSnapshot,
  template,
} from '../../machines/migration.js';
import type { Database } from '../../src/db/port.js';
import type { AgentFunction } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';

// `ALTER TYPE ... ADD VALUE` cannot be reverted (PostgreSQL has no DROP VALUE; see lint-irreversible.ts). It passed
// the lint with no approval, the dry run found it reversible, and a revert after it said compensated with the label
// left. Now: an approval up front naming why, a dry run that says it cannot be reverted (on the scratch copy too,
// where the copy's type is altered), and a revert that changes nothing and says why.

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('enum labels added by a migration ($name)', (adapter) => {
  let db: Database;
  let schemas = 0;
  beforeAll(async () => {
    db = await adapter.open();
  }, 60_000);

  /** A schema with an enum used by a column with a varchar key, and a partial index reading the labels. */
  const fresh = async () => {
    const s = `labels_${++schemas}`;
    await db.query(`CREATE SCHEMA ${s}`);
    await db.query(`CREATE TYPE ${s}.stage AS ENUM ('draft', 'live')`);
    await db.query(
      `CREATE TABLE ${s}.page (slug varchar(40) PRIMARY KEY, stage ${s}.stage NOT NULL DEFAULT 'draft')`,
    );
    await db.query(`CREATE INDEX page_live ON ${s}.page (slug) WHERE stage = 'live'`);
    await db.query(`INSERT INTO ${s}.page VALUES ('home', 'live'), ('about', 'draft')`);
    return s;
  };
  const labels = async (s: string) =>
    (
      await db.query(
        `SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS l FROM pg_enum WHERE enumtypid = '${s}.stage'::regtype`,
      )
    ).rows[0]?.l;
  const sql = "ALTER TYPE stage ADD VALUE 'archived'; ALTER TABLE page ADD COLUMN note text";

  it('asks for an approval up front, saying that no revert can drop the label', async () => {
    const schema = await fresh();
    const run = testEngine({ agents: template.agents(db) }).start(migration, { schema, sql });
    await expect.poll(() => run.waitingSteps(), { timeout: 20_000 }).toContain('approval');
    expect(await labels(schema)).toEqual(['draft', 'live']);
    run.resolveEscalation('approval', { action: 'skip', value: { approved: true, by: 'ann' } });
    const report = await run.result;
    expect(report.approval).toEqual({ by: 'ann', source: 'human' });
    expect(report.findings.filter((f) => f.severity === 'danger')).toEqual([
      expect.objectContaining({
        rule: 'irreversible',
        message: expect.stringMatching(/cannot drop an enum label/),
      }),
    ]);
    expect(await labels(schema)).toEqual(['draft', 'live', 'archived']);
  });

  it.each(['scratch', 'live'] as const)(
    'dry-runs it as not reversible, naming the label (%s)',
    async (dryRun) => {
      const schema = await fresh();
      const report = await testEngine({ agents: migrationAgents(db, { dryRun }) }).start(migration, {
        schema,
        sql,
        approvedBy: 'ann',
      }).result;
      expect(report.status).toBe('applied');
      expect(report.dryRun).toMatchObject({ reversible: false });
      expect(report.dryRun.revertProblem).toMatch(
        /enum stage has label\(s\) 'archived'.*cannot drop an enum label/,
      );
      expect(report.changes.map((c) => c.object)).toEqual(
        expect.arrayContaining(['enum stage', 'column page.note']),
      );
      expect(await labels(schema)).toEqual(['draft', 'live', 'archived']);
    },
  );

  it('fails a revert after it, changing nothing, and says why', async () => {
    const schema = await fresh();
    const base = template.agents(db);
    // A table nobody planned appears after the apply: the verification fails and the revert runs.
    const apply: AgentFunction = async (input, ctx) => {
      const output = await (base['migration-apply'] as AgentFunction)(input, ctx);
      await db.query(`CREATE TABLE ${schema}.intruder (x int)`);
      return output;
    };
    const run = testEngine({ agents: { ...base, 'migration-apply': apply } }).start(migration, {
      schema,
      sql,
      approvedBy: 'ann',
    });
    const error = (await run.result.catch((e: unknown) => e)) as { compensationErrors?: unknown };
    expect(run.status).toBe('failed');
    expect(JSON.stringify(error.compensationErrors)).toMatch(
      /enum stage has label\(s\) 'archived' that the migration added: PostgreSQL cannot drop an enum label/,
    );
    // All or nothing: the revert rolled back, the migration's changes stay (as its approval said they would).
    await db.query(`DROP TABLE ${schema}.intruder`);
    const now = await takeSnapshot(db, schema);
    expect(now.tables.find((t) => t.name === 'page')?.columns.map((c) => c.name)).toEqual([
      'slug',
      'stage',
      'note',
    ]);
    expect(await labels(schema)).toEqual(['draft', 'live', 'archived']);
    expect(compareSnapshots(now, await takeSnapshot(db, schema))).toEqual([]);
  });
});
