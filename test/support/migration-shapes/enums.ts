/**
 * Shapes on enum types: labels renamed (two swapped, under a partial index that reads them), a type created for a
 * new column and an unused type dropped, set back by the revert (enum labels were not recorded: a revert
 * said compensated with the labels renamed). A label added (`ADD VALUE`) cannot be reverted: see
 * `migration-enum-labels.test.ts`.
 */
import { expect } from 'vitest';
import type { Database } from '../../../src/db/port.js';
import type { ShapeGroup } from './shape.js';

const labels = async (db: Database, type: string) =>
  (
    await db.query(
      `SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS labels FROM pg_enum WHERE enumtypid = to_regtype('${type}')`,
    )
  ).rows[0]?.labels ?? null;

export const ENUMS: ShapeGroup = {
  reverted: [
    {
      name: 'enum labels renamed, two of them swapped, on a type under a varchar key and a partial index',
      setup: (s) => [
        `CREATE TYPE ${s}.status AS ENUM ('new', 'paid', 'shipped')`,
        `CREATE TABLE ${s}.shipment (ref varchar(16) PRIMARY KEY, status ${s}.status NOT NULL DEFAULT 'new')`,
        `CREATE INDEX shipment_open ON ${s}.shipment (ref) WHERE status <> 'shipped'`,
        `INSERT INTO ${s}.shipment VALUES ('S-1', 'new'), ('S-2', 'paid'), ('S-3', 'shipped')`,
      ],
      // Unqualified: the dry run's copy of the type is found first on the search path.
      sql: () =>
        [
          "ALTER TYPE status RENAME VALUE 'paid' TO 'settled'",
          "ALTER TYPE status RENAME VALUE 'new' TO 'tmp'",
          "ALTER TYPE status RENAME VALUE 'shipped' TO 'new'",
          "ALTER TYPE status RENAME VALUE 'tmp' TO 'shipped'",
        ].join('; '),
      rows: ['shipment'],
      then: async (db, s) => {
        expect(await labels(db, `${s}.status`)).toEqual(['new', 'paid', 'shipped']);
        expect((await db.query(`SELECT ref FROM ${s}.shipment WHERE status = 'shipped'`)).rows).toEqual([
          { ref: 'S-3' },
        ]);
      },
    },
    {
      name: 'an enum type created for a new column',
      setup: (s) => [
        `CREATE TABLE ${s}.shirt (sku varchar(10) PRIMARY KEY)`,
        `INSERT INTO ${s}.shirt VALUES ('t-1'), ('t-2')`,
      ],
      sql: (s) =>
        `CREATE TYPE ${s}.color AS ENUM ('red', 'blue'); ALTER TABLE ${s}.shirt ADD COLUMN color ${s}.color DEFAULT 'red'`,
      rows: ['shirt'],
      then: async (db, s) => expect(await labels(db, `${s}.color`)).toBeNull(),
    },
    {
      name: 'an enum type no column uses dropped, beside a column added',
      setup: (s) => [
        `CREATE TYPE ${s}.legacy_size AS ENUM ('s', 'm', 'l')`,
        `CREATE TABLE ${s}.shirt (sku varchar(10) PRIMARY KEY)`,
        `INSERT INTO ${s}.shirt VALUES ('t-1'), ('t-2')`,
      ],
      sql: (s) => `DROP TYPE ${s}.legacy_size; ALTER TABLE ${s}.shirt ADD COLUMN note text`,
      rows: ['shirt'],
      // Dry-run on the target (the scratch copy has copies of the types now: `domains.ts` drops a domain there).
      live: true,
      then: async (db, s) => expect(await labels(db, `${s}.legacy_size`)).toEqual(['s', 'm', 'l']),
    },
  ],
  applied: [],
};
