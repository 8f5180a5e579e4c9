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

  it('schema-analysis and data-validation run on the DVD rental in public', async () => {
    expect((await run('schema-analysis', 'rental')).schema).toBe('public');
    expect((await run('data-validation', 'rental')).rowsChecked).toBeGreaterThan(700);
  });
});
