/**
 * `flowstate run <template> --db <url>` with the template's default input, on databases of other shapes than the
 * sample (a PostgreSQL 15 server): the music store (its own schema, PascalCase, no foreign keys declared,
 * partitions, an enum, a view) and the DVD rental (Pagila-like). Each run exits 0 and reports what is true there.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresDatabase } from '../../src/db/postgres.js';
import { buildCli, root, runCli } from '../support/cli.js';
import { MUSIC_PLANTED, seedMusic, seedRental } from '../support/other-schemas.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

const out = join(root, 'node_modules/.cache/flowstate-templates-any-db-test');
const main = join(out, 'bundle/cli.js');
const flowstate = (...args: string[]) => runCli(main, args, 60_000);

describe('flowstate run <template> --db <url> on other shapes, with the default input', () => {
  let server: PostgresServer;
  const urls: Record<string, string> = {};
  beforeAll(async () => {
    buildCli(out);
    server = await startPostgres();
    for (const [name, seed] of [
      ['music', seedMusic],
      ['rental', seedRental],
    ] as const) {
      urls[name] = await createDatabase(server, `flowstate_anydb_${name}_${process.pid}`);
      const db = postgresDatabase(urls[name] as string);
      await seed(db);
      await db.close();
    }
  }, 180_000);
  afterAll(() => server?.stop(), 30_000);

  const run = async (template: string, db: string) => {
    const ran = await flowstate('run', template, '--db', urls[db] as string, '--json');
    expect(ran.code, ran.stderr).toBe(0);
    return JSON.parse(ran.stdout) as Record<string, unknown>;
  };

  it('schema-analysis finds the music store defects in its own schema', async () => {
    const report = await run('schema-analysis', 'music');
    expect(report.schema).toBe('music');
    const ids = (report.findings as { id: string }[]).map((f) => f.id);
    expect(ids).toEqual(
      expect.arrayContaining(['int-key-overflow:Ticket.TicketId', 'float-money:Adjustment.Fee']),
    );
  });

  it('data-validation finds every planted music store defect', async () => {
    const report = await run('data-validation', 'music');
    const found = (report.violations as { kind: string; table: string; count: number }[]).map(
      (v) => `${v.kind}:${v.table}=${v.count}`,
    );
    expect(found.sort()).toEqual(MUSIC_PLANTED.map((p) => `${p.kind}:${p.table}=${p.rows}`).sort());
  });

  it('query-generation answers its own default question on both', async () => {
    for (const db of ['music', 'rental']) {
      const report = await run('query-generation', db);
      expect(report.status, JSON.stringify(report.problems)).toBe('answered');
    }
  });

  /** Our sample's tables: a default input that names them was tuned to our sample, not read from this database. */
  const SAMPLE_TABLES = /\b(orders|customers|order_items|products|audit_log|product_reviews)\b/;

  it('optimization with no input probes the lookups the foreign keys imply, in the schema of each', async () => {
    let started = performance.now();
    const music = await run('optimization', 'music');
    const musicMs = Math.round(performance.now() - started);
    started = performance.now();
    const rental = await run('optimization', 'rental');
    const rentalMs = Math.round(performance.now() - started);
    for (const [report, schema, table, column, ms] of [
      [music, 'music', 'InvoiceLine', 'InvoiceId', musicMs],
      [rental, 'public', 'rental', 'customer_id', rentalMs],
    ] as const) {
      const queries = report.queries as { sql: string; name: string }[];
      const proposed = [
        ...(report.recommendations as { ddl: string }[]),
        ...(report.rejected as { ddl: string }[]),
      ].map((r) => r.ddl);
      console.info(
        `optimization {} on ${schema} (CLI, ${ms} ms): ${queries.length} probe(s): ${queries.map((q) => q.name).join('; ')}; proposed: ${proposed.join('; ')}`,
      );
      expect(report.schema).toBe(schema);
      expect(report.source).toBe('catalog');
      expect(queries.length).toBeGreaterThan(0);
      expect(queries.map((q) => q.sql).join(' ')).toContain(`"${table}"`.replace(/^"([a-z_]+)"$/, '$1'));
      expect(JSON.stringify(report)).not.toMatch(SAMPLE_TABLES);
      // The lookup by the unindexed key is proposed, lock-safe.
      const ddl = proposed.find((d) => d.includes(column));
      expect(ddl, JSON.stringify(report, null, 2)).toMatch(/^CREATE INDEX CONCURRENTLY/);
      expect(ddl).toContain(table);
    }
  });

  it('migration with no input proposes the schema analysis fixes, dry-runs them and holds them for approval', async () => {
    const indexes = async () => {
      const db = postgresDatabase(urls.rental as string);
      try {
        return (
          await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'public'",
          )
        ).rows[0]?.n;
      } finally {
        await db.close();
      }
    };
    const before = await indexes();
    let started = performance.now();
    const held = await flowstate('run', 'migration', '--db', urls.rental as string);
    const heldMs = Math.round(performance.now() - started);
    expect(held.code, held.stderr).toBe(3);
    expect(held.stdout).toMatch(/✓ preview/);
    expect(held.stderr).toContain("waits on a human decision at 'approval'");
    expect(await indexes()).toBe(before);
    // Approved up front: the lock-safe fixes of THIS database are applied.
    started = performance.now();
    const ran = await flowstate(
      'run',
      'migration',
      '--db',
      urls.rental as string,
      '--json',
      '--input',
      '{"approvedBy": "e2e"}',
    );
    expect(ran.code, ran.stderr).toBe(0);
    const report = JSON.parse(ran.stdout) as {
      status: string;
      source: string;
      statements: { sql: string }[];
      approval: { by: string } | null;
    };
    const appliedMs = Math.round(performance.now() - started);
    console.info(
      `migration {} on the DVD rental (CLI: held ${heldMs} ms, approved and applied ${appliedMs} ms): ${report.statements.map((s) => s.sql).join('; ')}`,
    );
    expect(report).toMatchObject({ status: 'applied', source: 'schema-analysis', approval: { by: 'e2e' } });
    const sql = report.statements.map((s) => s.sql);
    expect(sql.length).toBeGreaterThan(0);
    for (const s of sql) expect(s).toMatch(/^CREATE INDEX CONCURRENTLY IF NOT EXISTS /);
    expect(sql.join(' ')).toContain('"rental" ("customer_id")');
    expect(sql.join(' ')).not.toMatch(SAMPLE_TABLES);
    expect(await indexes()).toBe((before ?? 0) + sql.length);
  });

  it('migration with no input on the music store: nothing to migrate (no foreign key declared, no duplicate)', async () => {
    const started = performance.now();
    const report = await run('migration', 'music');
    console.info(
      `migration {} on the music store (CLI): ${Math.round(performance.now() - started)} ms, ${report.status}`,
    );
    expect(report).toMatchObject({ status: 'nothing-to-migrate', schema: 'music', statements: [] });
    expect(report.summary).toMatch(/^Nothing to migrate in 'music'/);
  });

  it('schema-analysis and data-validation run on the DVD rental in public', async () => {
    expect((await run('schema-analysis', 'rental')).schema).toBe('public');
    expect((await run('data-validation', 'rental')).rowsChecked).toBeGreaterThan(700);
  });
});
