/**
 * Shapes on types dropped with their columns (`DROP TYPE ... CASCADE`): the revert must bring the columns back with
 * their values. Backups used the schema's enum types, so the CASCADE dropped the backup's column too and the revert
 * put the column back empty (or, without CASCADE, the DROP failed because the backup used the type).
 */
import { expect } from 'vitest';
import type { ShapeGroup } from './shape.js';

export const DROPPED_TYPES: ShapeGroup = {
  reverted: [
    {
      name: 'a column dropped with its enum type (CASCADE), an enum array column going with it, under a varchar key',
      setup: (s) => [
        `CREATE TYPE ${s}.ticket_state AS ENUM ('open', 'held', 'closed')`,
        `CREATE TABLE ${s}.ticket (code varchar(12) PRIMARY KEY, state ${s}.ticket_state NOT NULL DEFAULT 'open',
           history ${s}.ticket_state[], title text)`,
        `INSERT INTO ${s}.ticket VALUES ('T-1', 'held', '{open,held}', 'a'), ('T-2', 'closed', '{open,closed}', 'b'),
           ('T-3', 'open', NULL, 'c')`,
      ],
      sql: (s) => `ALTER TABLE ${s}.ticket DROP COLUMN state; DROP TYPE ${s}.ticket_state CASCADE`,
      rows: ['ticket'],
      // Dry-run on the target (the scratch copy has copies of the types now: `domains.ts` drops a domain there).
      live: true,
      then: async (db, s) => {
        expect(
          (await db.query(`SELECT code, state::text AS state FROM ${s}.ticket ORDER BY code`)).rows,
        ).toEqual([
          { code: 'T-1', state: 'held' },
          { code: 'T-2', state: 'closed' },
          { code: 'T-3', state: 'open' },
        ]);
        expect(
          (
            await db.query(
              `SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attrelid = '${s}.ticket'::regclass AND attname = 'history'`,
            )
          ).rows,
        ).toEqual([{ t: `${s}.ticket_state[]` }]);
      },
    },
    {
      name: 'an enum type dropped with CASCADE alone, its columns in a list-partitioned table and a table it names not',
      setup: (s) => [
        `CREATE TYPE ${s}.tier AS ENUM ('bronze', 'silver', 'gold')`,
        `CREATE TABLE ${s}.member (region varchar(4), id bigint, tier ${s}.tier, PRIMARY KEY (region, id))
           PARTITION BY LIST (region)`,
        `CREATE TABLE ${s}.member_eu PARTITION OF ${s}.member FOR VALUES IN ('eu')`,
        `CREATE TABLE ${s}.member_us PARTITION OF ${s}.member FOR VALUES IN ('us')`,
        `INSERT INTO ${s}.member VALUES ('eu', 1, 'gold'), ('eu', 2, NULL), ('us', 1, 'bronze')`,
        // No primary key: matched on nothing, emptied and refilled by the revert.
        `CREATE TABLE ${s}.offer (label text, min_tier ${s}.tier DEFAULT 'silver')`,
        `INSERT INTO ${s}.offer VALUES ('ten off', 'silver'), ('free ship', 'gold')`,
      ],
      sql: (s) => `DROP TYPE ${s}.tier CASCADE`,
      rows: ['member_eu', 'member_us', 'offer'],
      live: true,
      then: async (db, s) => {
        expect((await db.query(`SELECT label FROM ${s}.offer WHERE min_tier = 'gold'`)).rows).toEqual([
          { label: 'free ship' },
        ]);
        expect(
          (await db.query(`SELECT region, id::int AS id FROM ${s}.member WHERE tier = 'gold'`)).rows,
        ).toEqual([{ region: 'eu', id: 1 }]);
      },
    },
  ],
  applied: [],
};
