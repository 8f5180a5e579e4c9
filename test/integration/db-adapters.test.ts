import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, parseTarget } from '../../src/db/open.js';
import type { Database } from '../../src/db/port.js';
import { ConfigurationError } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)('the $name adapter', (adapter) => {
  let db: Database;
  beforeAll(async () => {
    db = await adapter.open();
    await db.query(
      'CREATE TABLE t (id integer PRIMARY KEY, name text, big bigint, day date, amount numeric(8, 2))',
    );
  }, 30_000);

  it('names its dialect', () => {
    expect(db.dialect).toBe(adapter.name);
  });

  it('runs parameterized statements and reads values the same way on both', async () => {
    const insert = await db.query('INSERT INTO t VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)', [
      1,
      "O'Brien; DROP TABLE t",
      9_007_199_254_740_993n.toString(),
      '2024-02-29',
      '12.50',
      2,
      null,
      7,
      '2024-03-01',
      3,
    ]);
    expect(insert.rowCount).toBe(2);
    const { rows, rowCount } = await db.query('SELECT * FROM t ORDER BY id');
    expect(rowCount).toBe(2);
    expect(rows).toEqual([
      { id: 1, name: "O'Brien; DROP TABLE t", big: '9007199254740993', day: '2024-02-29', amount: '12.50' },
      { id: 2, name: null, big: 7, day: '2024-03-01', amount: '3.00' },
    ]);
    const count = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM t');
    expect(count.rows[0]?.n).toBe(2);
  });

  it('reports affected rows of writes and zero for DDL', async () => {
    expect((await db.query('UPDATE t SET name = $1 WHERE id > $2', ['x', 100])).rowCount).toBe(0);
    expect((await db.query('CREATE TABLE IF NOT EXISTS u (x int)')).rowCount).toBe(0);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id, name) VALUES ($1, $2)', [10, 'kept']);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t (id, name) VALUES ($1, $2)', [11, 'lost']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await db.query<{ id: number }>('SELECT id FROM t WHERE id >= $1 ORDER BY id', [10]);
    expect(rows.map((r) => r.id)).toEqual([10]);
  });

  it('rolls back a transaction whose statement fails, and stays usable', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES ($1)', [12]);
        await tx.query('INSERT INTO t (id) VALUES ($1)', [12]);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect((await db.query('SELECT 1 FROM t WHERE id = $1', [12])).rowCount).toBe(0);
  });

  it('makes nested transactions savepoints', async () => {
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES ($1)', [20]);
      await expect(
        tx.transaction(async (inner) => {
          await inner.query('INSERT INTO t (id) VALUES ($1)', [21]);
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
      await tx.transaction(async (inner) => inner.query('INSERT INTO t (id) VALUES ($1)', [22]));
      await expect(tx.transaction(async () => 1, { readOnly: true })).rejects.toBeInstanceOf(
        ConfigurationError,
      );
      await expect(tx.close()).rejects.toBeInstanceOf(ConfigurationError);
    });
    const { rows } = await db.query<{ id: number }>('SELECT id FROM t WHERE id >= 20 ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([20, 22]);
  });

  it('refuses writes in a READ ONLY transaction', async () => {
    await expect(db.transaction((tx) => tx.query('DELETE FROM t'), { readOnly: true })).rejects.toThrow(
      /read-only transaction/,
    );
    const read = await db.transaction((tx) => tx.query('SELECT count(*) AS n FROM t'), { readOnly: true });
    expect(read.rows[0]).toEqual({ n: 5 });
  });

  it('sets the statement timeout for the transaction only', async () => {
    const inside = await db.transaction(
      (tx) => tx.query<{ statement_timeout: string }>('SHOW statement_timeout'),
      {
        statementTimeoutMs: 1500,
      },
    );
    expect(inside.rows[0]?.statement_timeout).toBe('1500ms');
    const after = await db.query<{ statement_timeout: string }>('SHOW statement_timeout');
    expect(after.rows[0]?.statement_timeout).toBe('0');
    await expect(db.transaction(async () => 1, { statementTimeoutMs: -1 })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
  });

  it.runIf(adapter.name === 'postgres')('cancels a statement that passes the timeout', async () => {
    await expect(
      db.transaction((tx) => tx.query('SELECT pg_sleep(2)'), { statementTimeoutMs: 100 }),
    ).rejects.toThrow(/statement timeout/);
  });

  it('serves concurrent queries and transactions', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        i % 2
          ? db.query<{ v: number }>('SELECT $1::int AS v', [i])
          : db.transaction((tx) => tx.query<{ v: number }>('SELECT $1::int AS v', [i])),
      ),
    );
    expect(results.map((r) => r.rows[0]?.v)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('parseTarget (openDatabase URL rules)', () => {
  it('picks PGlite in memory by default, a server for postgres URLs, a directory otherwise', () => {
    expect(parseTarget()).toEqual({ kind: 'pglite', dir: undefined });
    expect(parseTarget('memory://')).toEqual({ kind: 'pglite', dir: undefined });
    expect(parseTarget('postgres://u:p@localhost:5432/db')).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@localhost:5432/db',
    });
    expect(parseTarget('postgresql://localhost/db').kind).toBe('postgres');
    expect(parseTarget('file:///tmp/flowstate-db')).toEqual({ kind: 'pglite', dir: '/tmp/flowstate-db' });
    expect(parseTarget('./data/db')).toMatchObject({ kind: 'pglite' });
  });

  it('throws a ConfigurationError for a bad URL, without printing its password', () => {
    const bad = (url: string) => () => parseTarget(url);
    expect(bad('mysql://localhost/db')).toThrow(ConfigurationError);
    expect(bad('mysql://localhost/db')).toThrow(/Unsupported database URL scheme 'mysql:'/);
    expect(bad('postgres://')).toThrow(ConfigurationError);
    expect(bad('postgres://user:secret@[bad/db')).toThrow(ConfigurationError);
    expect(bad('postgres://user:secret@[bad/db')).not.toThrow(/secret/);
    expect(bad('file:///')).toThrow(ConfigurationError);
  });
});

describe('openDatabase', () => {
  it('opens a PGlite directory that keeps its data across opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-pglite-'));
    try {
      const first = await openDatabase(dir);
      expect(first.dialect).toBe('pglite');
      await first.query('CREATE TABLE kept (v text)');
      await first.query('INSERT INTO kept VALUES ($1)', ['still here']);
      await first.close();
      const second = await openDatabase(`file://${dir}`);
      expect((await second.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('opens a server for a postgres URL, and rejects a bad URL before connecting', async () => {
    const db = await openDatabase('postgresql://127.0.0.1:1/nowhere');
    expect(db.dialect).toBe('postgres');
    await expect(db.query('SELECT 1')).rejects.toThrow();
    await db.close();
    await expect(openDatabase('redis://localhost')).rejects.toBeInstanceOf(ConfigurationError);
  });
});
