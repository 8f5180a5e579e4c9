import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/port.js';
import { PLANTED_COUNTS, SAMPLE_SLOW_QUERY, seedSample } from '../../src/db/sample/index.js';
import { bothAdapters } from '../support/databases.js';

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

const count = async (db: Database, sql: string) => (await db.query<{ n: number }>(sql)).rows[0]?.n;

describe.each(adapters.list)('the sample database on $name', (adapter) => {
  let db: Database;
  let summary: Awaited<ReturnType<typeof seedSample>>;
  beforeAll(async () => {
    db = await adapter.open();
    summary = await seedSample(db);
  }, 60_000);

  it('holds a few thousand rows per main table, the same on every run', async () => {
    expect(summary.rows).toMatchObject({ customers: 800, products: 240, orders: 4000 });
    expect(summary.rows.order_items).toBeGreaterThan(4000);
    const checksum = await db.query(
      `SELECT sum(total)::text AS totals, count(*) AS n, md5(string_agg(email, ',' ORDER BY orders.id)) AS emails
       FROM orders JOIN customers ON customers.id = orders.customer_id`,
    );
    expect(checksum.rows[0]).toMatchInlineSnapshot(`
      {
        "emails": "ff25eb4fe82e9d9a0d586ed809b527e8",
        "n": 4000,
        "totals": "2992876.51",
      }
    `);
  });

  it('plants rows that break the rules, in the documented numbers', async () => {
    expect(await count(db, 'SELECT count(*) AS n FROM customers WHERE email IS NULL')).toBe(
      PLANTED_COUNTS.customersWithoutEmail,
    );
    expect(await count(db, `SELECT count(*) AS n FROM customers WHERE tier = 'platinum'`)).toBe(
      PLANTED_COUNTS.customersWithUnknownTier,
    );
    expect(await count(db, 'SELECT count(*) AS n FROM products WHERE stock < 0')).toBe(
      PLANTED_COUNTS.productsWithNegativeStock,
    );
    expect(await count(db, 'SELECT count(*) AS n FROM products WHERE category_id IS NULL')).toBe(
      PLANTED_COUNTS.productsWithoutCategory,
    );
    expect(await count(db, 'SELECT count(*) AS n FROM order_items WHERE quantity <= 0')).toBe(
      PLANTED_COUNTS.itemsWithNonPositiveQuantity,
    );
    expect(await count(db, 'SELECT count(*) AS n FROM order_summaries WHERE total <> items_total')).toBe(
      PLANTED_COUNTS.ordersWithWrongTotal,
    );
    expect(
      await count(
        db,
        'SELECT count(*) AS n FROM product_reviews r WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = r.product_id)',
      ),
    ).toBe(PLANTED_COUNTS.reviewsOfMissingProducts);
  });

  it('has a slow query that the documented index turns into an index scan', async () => {
    const plan = async () =>
      JSON.stringify((await db.query(`EXPLAIN ${SAMPLE_SLOW_QUERY.sql}`, SAMPLE_SLOW_QUERY.params)).rows);
    expect(await plan()).toMatch(/Seq Scan on orders/);
    await db
      .transaction(async (tx) => {
        await tx.query(SAMPLE_SLOW_QUERY.fix);
        const after = JSON.stringify(
          (await tx.query(`EXPLAIN ${SAMPLE_SLOW_QUERY.sql}`, SAMPLE_SLOW_QUERY.params)).rows,
        );
        expect(after).toMatch(/Index Scan|Bitmap Heap Scan/);
        throw new Rollback();
      })
      .catch((e: unknown) => {
        if (!(e instanceof Rollback)) throw e;
      });
  });

  it('seeds into another schema, and again with replace', async () => {
    await seedSample(db, { schema: 'shop', scale: 0.1 });
    const again = await seedSample(db, { schema: 'shop', scale: 0.1, replace: true });
    expect(again.rows.customers).toBe(80);
    expect(await count(db, 'SELECT count(*) AS n FROM shop.customers')).toBe(80);
  });
});

class Rollback extends Error {}
