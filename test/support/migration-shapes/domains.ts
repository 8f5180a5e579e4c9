/**
 * Shapes on domains (found by review: domains were not in the snapshot, so a revert did not put back one the migration
 * dropped or altered, and the verification did not name it): a domain over a domain under a varchar key and a
 * partitioned table, dropped with CASCADE; CHECK constraints used in several tables dropped, added and renamed, a
 * default and NOT NULL changed; a domain over an enum array beside a composite type column, dropped once its column is
 * retyped. And migrations that name the schema's types (a domain, a composite type, an enum) in scratch dry runs,
 * which failed there (the copy had no types).
 */
import { expect } from 'vitest';
import type { Database } from '../../../src/db/port.js';
import type { ShapeGroup } from './shape.js';

/** The domain's CHECKs (`name: definition`), NOT NULL and default, as the catalog has them (null: no such domain). */
export const domainOf = async (db: Database, s: string, name: string) =>
  (
    await db.query(
      `SELECT t.typnotnull AS "notNull", pg_get_expr(t.typdefaultbin, 0) AS "default",
              ARRAY(SELECT k.conname || ': ' || pg_get_constraintdef(k.oid) FROM pg_constraint k
                     WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) AS checks
         FROM pg_type t WHERE t.oid = to_regtype($1)`,
      [`${s}.${name}`],
    )
  ).rows[0] ?? null;

/** Stock kept in codes (a domain over a domain, as a varchar key), moved in a partitioned table, aliased in arrays. */
const stock = (s: string) => [
  `CREATE DOMAIN ${s}.code AS varchar(12) CONSTRAINT code_upper CHECK (VALUE ~ '^[A-Z][A-Z0-9-]*$')`,
  `CREATE DOMAIN ${s}.sku AS ${s}.code DEFAULT 'SKU-0' CONSTRAINT sku_long CHECK (length(VALUE) >= 5)`,
  `CREATE DOMAIN ${s}.qty AS integer NOT NULL DEFAULT 0 CONSTRAINT qty_positive CHECK (VALUE >= 0)`,
  `CREATE TABLE ${s}.item (sku ${s}.sku PRIMARY KEY, label text, stock ${s}.qty)`,
  `CREATE TABLE ${s}.stock_move (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, sku ${s}.sku,
     qty ${s}.qty, PRIMARY KEY (at, id)) PARTITION BY RANGE (at)`,
  `CREATE TABLE ${s}.stock_move_2024 PARTITION OF ${s}.stock_move FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
  `CREATE TABLE ${s}.stock_move_2025 PARTITION OF ${s}.stock_move FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
  // No key: emptied and refilled by a revert.
  `CREATE TABLE ${s}.alias (old ${s}.code, new ${s}.sku[])`,
  `INSERT INTO ${s}.item VALUES ('SKU-1', 'bolt', 10), ('SKU-22', 'nut', 0), ('SKU-333', 'gear', 7)`,
  `INSERT INTO ${s}.stock_move (at, sku, qty) VALUES ('2024-03-01', 'SKU-1', 10), ('2025-02-01', 'SKU-22', 4),
     ('2025-05-05', 'SKU-333', 7)`,
  `INSERT INTO ${s}.alias VALUES ('B1', '{SKU-1,SKU-22}'), ('G3', '{SKU-333}'), (NULL, NULL)`,
];

/** Money in domains with CHECKs used by two tables, one referencing the other by a varchar key. */
const billing = (s: string) => [
  `CREATE DOMAIN ${s}.amount AS numeric(12, 2) CONSTRAINT amount_positive CHECK (VALUE > 0)`,
  `CREATE DOMAIN ${s}.currency AS char(3) NOT NULL DEFAULT 'EUR' CHECK (VALUE = upper(VALUE))`,
  `CREATE TABLE ${s}.invoice (no varchar(20) PRIMARY KEY, total ${s}.amount, cur ${s}.currency)`,
  `CREATE TABLE ${s}.refund (id int PRIMARY KEY, no varchar(20) REFERENCES ${s}.invoice, amount ${s}.amount,
     cur ${s}.currency)`,
  `INSERT INTO ${s}.invoice VALUES ('I-2024-001', 500.00, 'EUR'), ('I-2024-002', 12.50, 'USD')`,
  `INSERT INTO ${s}.refund VALUES (1, 'I-2024-001', 20.00, 'EUR')`,
];

/** Customers with a composite address column (of a domain) and tags in a domain over an enum array. */
const customers = (s: string) => [
  `CREATE TYPE ${s}.tag AS ENUM ('new', 'hot', 'sale')`,
  `CREATE DOMAIN ${s}.tags AS ${s}.tag[] CONSTRAINT tags_few CHECK (cardinality(VALUE) <= 3)`,
  `CREATE DOMAIN ${s}.zip AS varchar(10) CHECK (VALUE ~ '^[0-9]+$')`,
  `CREATE TYPE ${s}.address AS (street text, city varchar(40), zip ${s}.zip)`,
  `CREATE TABLE ${s}.customer (email varchar(120) PRIMARY KEY, home ${s}.address, tags ${s}.tags DEFAULT '{new}')`,
  `INSERT INTO ${s}.customer VALUES ('a@x.io', ROW('1 Main St', 'Oslo', '0150'), '{new,sale}'),
     ('b@x.io', ROW('2 Side Rd', 'Bergen', NULL), NULL), ('c@x.io', NULL, '{}')`,
];

export const DOMAINS: ShapeGroup = {
  reverted: [
    {
      name: 'a domain dropped with CASCADE, with the domain over it, from a varchar key, a partitioned table and arrays',
      setup: stock,
      sql: (s) => `DROP DOMAIN ${s}.code CASCADE`,
      rows: ['item', 'stock_move_2024', 'stock_move_2025', 'alias'],
      then: async (db, s) => {
        expect(await domainOf(db, s, 'sku')).toEqual({
          notNull: false,
          default: "'SKU-0'::character varying",
          checks: ['sku_long: CHECK ((length((VALUE)::text) >= 5))'],
        });
        // The key is back (its column comes last now), and so are the CHECKs of both domains, on every column of them.
        await expect(
          db.query(`INSERT INTO ${s}.item (sku, label, stock) VALUES ('SKU-1', 'again', 1)`),
        ).rejects.toThrow(/duplicate key/);
        await expect(db.query(`INSERT INTO ${s}.alias (old) VALUES ('b1')`)).rejects.toThrow(/code_upper/);
        await expect(db.query(`INSERT INTO ${s}.alias (new) VALUES ('{SKU}')`)).rejects.toThrow(/sku_long/);
        expect(
          (await db.query(`SELECT count(*)::int AS n FROM ${s}.stock_move WHERE sku = 'SKU-22'`)).rows,
        ).toEqual([{ n: 1 }]);
      },
    },
    {
      name: 'CHECKs of domains used by two tables dropped and added, a default and NOT NULL changed, a breaking row added',
      setup: billing,
      sql: (s) =>
        [
          `ALTER DOMAIN ${s}.amount DROP CONSTRAINT amount_positive`,
          `ALTER DOMAIN ${s}.amount ADD CONSTRAINT amount_cap CHECK (VALUE < 100000)`,
          `ALTER DOMAIN ${s}.currency SET DEFAULT 'USD'`,
          `ALTER DOMAIN ${s}.currency DROP NOT NULL`,
          // It breaks what the revert puts back: the revert takes it out first.
          `INSERT INTO ${s}.refund VALUES (2, 'I-2024-002', -5.00, NULL)`,
        ].join('; '),
      rows: ['invoice', 'refund'],
      then: async (db, s) => {
        expect(await domainOf(db, s, 'amount')).toMatchObject({
          checks: ['amount_positive: CHECK ((VALUE > (0)::numeric))'],
        });
        expect(await domainOf(db, s, 'currency')).toMatchObject({
          notNull: true,
          default: "'EUR'::bpchar",
        });
        await expect(db.query(`INSERT INTO ${s}.refund VALUES (3, NULL, -1, 'EUR')`)).rejects.toThrow(
          /amount_positive/,
        );
      },
    },
    {
      name: 'a domain renamed and its CHECK renamed, NOT NULL set on another',
      setup: billing,
      sql: (s) =>
        [
          `ALTER DOMAIN ${s}.amount RENAME TO money`,
          `ALTER DOMAIN ${s}.money RENAME CONSTRAINT amount_positive TO money_positive`,
          `ALTER DOMAIN ${s}.money SET NOT NULL`,
        ].join('; '),
      rows: ['invoice', 'refund'],
      then: async (db, s) => {
        expect(await domainOf(db, s, 'money')).toBeNull();
        expect(await domainOf(db, s, 'amount')).toEqual({
          notNull: false,
          default: null,
          checks: ['amount_positive: CHECK ((VALUE > (0)::numeric))'],
        });
      },
    },
    {
      name: 'a domain over an enum array dropped once its column is retyped to text[], beside a composite column',
      setup: customers,
      sql: (s) =>
        [
          `ALTER TABLE ${s}.customer ALTER COLUMN tags DROP DEFAULT`,
          `ALTER TABLE ${s}.customer ALTER COLUMN tags TYPE text[]`,
          `DROP DOMAIN ${s}.tags`,
          `UPDATE ${s}.customer SET tags = '{hot}' WHERE email = 'c@x.io'`,
        ].join('; '),
      rows: ['customer'],
      then: async (db, s) => {
        expect(
          (await db.query(`SELECT email, tags::text AS tags FROM ${s}.customer ORDER BY email`)).rows,
        ).toEqual([
          { email: 'a@x.io', tags: '{new,sale}' },
          { email: 'b@x.io', tags: null },
          { email: 'c@x.io', tags: '{}' },
        ]);
        await expect(
          db.query(`INSERT INTO ${s}.customer (email, tags) VALUES ('d@x.io', '{new,hot,sale,new}')`),
        ).rejects.toThrow(/tags_few/);
      },
    },
  ],
  applied: [
    {
      name: "schema-qualified type names in a scratch dry run: a domain's CHECK, a column of a domain over an enum array",
      setup: (s) => [...billing(s), ...customers(s)],
      sql: (s) =>
        [
          `ALTER DOMAIN ${s}.amount ADD CONSTRAINT amount_cap CHECK (VALUE < 100000)`,
          `ALTER TABLE ${s}.customer ADD COLUMN wish ${s}.tags DEFAULT '{sale}'::${s}.tag[]`,
          `ALTER TABLE ${s}.customer ADD COLUMN work ${s}.address`,
          `UPDATE ${s}.customer SET work = ROW('3 Quay', 'Oslo', '0151')::${s}.address WHERE email = 'a@x.io'`,
          `COMMENT ON DOMAIN ${s}.currency IS 'ISO 4217'`,
        ].join('; '),
      rows: [],
    },
    {
      name: 'a domain dropped with CASCADE from a partitioned table, dry-run on the copy',
      setup: stock,
      sql: (s) => `DROP DOMAIN ${s}.qty CASCADE`,
      rows: [],
    },
  ],
};
