/**
 * Shapes on sequences: ALTER SEQUENCE (type, increment, bounds, cycle, owner, RESTART behind the rows) and a table
 * dropped with the serial sequence it owned, set back by the revert (sequences were not recorded: a sequence left
 * restarted handed out its rows' values again, and a table with a serial key could not be made again).
 */
import { expect } from 'vitest';
import type { Database } from '../../../src/db/port.js';
import type { ShapeGroup } from './shape.js';

/** A sequence's options as the catalog has them. */
const options = async (db: Database, sequence: string) =>
  (
    await db.query(
      `SELECT format_type(seqtypid, NULL) AS type, seqincrement::int AS increment, seqmin::text AS min,
              seqmax::text AS max, seqcache::int AS cache, seqcycle AS cycle
         FROM pg_sequence WHERE seqrelid = '${sequence}'::regclass`,
    )
  ).rows[0];

export const SEQUENCES: ShapeGroup = {
  reverted: [
    {
      name: 'a sequence restarted behind the rows that used it, its type, increment, bound and cycle changed',
      setup: (s) => [
        `CREATE SEQUENCE ${s}.invoice_no AS integer INCREMENT BY 10 MINVALUE 100 MAXVALUE 1000000 START 100`,
        `CREATE TABLE ${s}.invoice (no int PRIMARY KEY DEFAULT nextval('${s}.invoice_no'), note varchar(30))`,
        `INSERT INTO ${s}.invoice (note) SELECT 'n' || g FROM generate_series(1, 5) g`,
      ],
      // Unqualified: the dry run's copy of the sequence is found first on the search path (qualified, it is requalified
      // to the copy: see `migration-dry-run-sequences.test.ts`).
      sql: () =>
        'ALTER SEQUENCE invoice_no AS bigint INCREMENT BY 1 MAXVALUE 9999999999 CYCLE RESTART WITH 100',
      rows: ['invoice'],
      then: async (db, s) => {
        expect(await options(db, `${s}.invoice_no`)).toEqual({
          type: 'integer',
          increment: 10,
          min: '100',
          max: '1000000',
          cache: 1,
          cycle: false,
        });
        // Past the rows: 100 to 140 are taken.
        expect(
          (await db.query(`INSERT INTO ${s}.invoice (note) VALUES ('after') RETURNING no`)).rows,
        ).toEqual([{ no: 150 }]);
      },
    },
    {
      name: "a serial's sequence owned by no column, its bound and cache changed",
      setup: (s) => [
        `CREATE TABLE ${s}.part (sku varchar(20) PRIMARY KEY, serial_no serial, legacy_no int)`,
        `INSERT INTO ${s}.part (sku) VALUES ('a-1'), ('b-2'), ('c-3')`,
      ],
      sql: (s) =>
        `ALTER SEQUENCE ${s}.part_serial_no_seq OWNED BY NONE; ALTER SEQUENCE ${s}.part_serial_no_seq MAXVALUE 50 CACHE 5`,
      rows: ['part'],
      // OWNED BY names a table, which the dry run's copy would resolve to its own (in another schema: refused).
      live: true,
      then: async (db, s) => {
        expect(
          (await db.query(`SELECT pg_get_serial_sequence('${s}.part', 'serial_no') AS seq`)).rows,
        ).toEqual([{ seq: `${s}.part_serial_no_seq` }]);
        expect(await options(db, `${s}.part_serial_no_seq`)).toMatchObject({ max: '2147483647', cache: 1 });
      },
    },
    {
      name: 'a table with a serial key dropped, with the sequence it owned',
      setup: (s) => [
        `CREATE TABLE ${s}.tag (id serial PRIMARY KEY, label varchar(30) UNIQUE)`,
        `INSERT INTO ${s}.tag (label) VALUES ('red'), ('green'), ('blue')`,
        `DELETE FROM ${s}.tag WHERE label = 'blue'`,
      ],
      sql: (s) => `DROP TABLE ${s}.tag`,
      rows: ['tag'],
      // Its sequence is back where it was (3 was handed out, then its row deleted), owned by the column again.
      then: async (db, s) => {
        expect((await db.query(`INSERT INTO ${s}.tag (label) VALUES ('new') RETURNING id`)).rows).toEqual([
          { id: 4 },
        ]);
        expect((await db.query(`SELECT pg_get_serial_sequence('${s}.tag', 'id') AS seq`)).rows).toEqual([
          { seq: `${s}.tag_id_seq` },
        ]);
      },
    },
  ],
  applied: [
    // Sequences made by the migration are in the apply's snapshot, not in the dry run's expected one (the copy's are
    // not the target's): compared only by the revert. The policy dropped failed the dry run (the copy had none).
    {
      name: 'a table with a serial key and a sequence created, a policy dropped',
      setup: (s) => [
        `CREATE TABLE ${s}.batch_log (id int PRIMARY KEY, by_user name DEFAULT current_user)`,
        `CREATE POLICY mine ON ${s}.batch_log USING (by_user = current_user)`,
      ],
      sql: (s) =>
        `CREATE TABLE ${s}.batch (id serial PRIMARY KEY, at timestamptz); CREATE SEQUENCE ${s}.batch_no AS integer; DROP POLICY mine ON ${s}.batch_log`,
      rows: [],
    },
  ],
};
