/**
 * Shapes on row-level security: ENABLE / FORCE ROW LEVEL SECURITY and policies created, dropped and altered, set
 * back by the revert (they were neither recorded nor compared), and migrations beside policies that must apply (the
 * dry run's copy now has the target's policies, and its expected shape with them).
 */
import { expect } from 'vitest';
import type { Database } from '../../../src/db/port.js';
import { MAKE_ROLES } from './roles.js';
import type { ShapeGroup } from './shape.js';

/** The row-level security of `table` and its policies, as the catalog has them. */
const security = async (db: Database, table: string) => ({
  flags: (
    await db.query(
      `SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE oid = '${table}'::regclass`,
    )
  ).rows[0],
  policies: (
    await db.query(
      `SELECT polname AS name, polpermissive AS permissive, polcmd::text AS cmd,
              ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END FROM unnest(polroles) r) AS roles,
              pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS "check"
         FROM pg_policy WHERE polrelid = '${table}'::regclass ORDER BY 1`,
    )
  ).rows,
});

/** `ledger`, partitioned by year, its reads limited to the rows of the user who wrote them. */
const LEDGER = (s: string) => [
  `CREATE TABLE ${s}.ledger (id bigint NOT NULL, holder name NOT NULL DEFAULT current_user, at date NOT NULL,
     amount numeric(10,2)) PARTITION BY RANGE (at)`,
  `CREATE TABLE ${s}.ledger_2024 PARTITION OF ${s}.ledger FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
  `CREATE TABLE ${s}.ledger_2025 PARTITION OF ${s}.ledger FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
  `INSERT INTO ${s}.ledger SELECT g, 'clerk' || (g % 3), DATE '2024-11-01' + g, g FROM generate_series(1, 120) g`,
  `CREATE POLICY own_rows ON ${s}.ledger FOR SELECT USING (holder = current_user)`,
  `ALTER TABLE ${s}.ledger ENABLE ROW LEVEL SECURITY`,
];

export const ROW_SECURITY: ShapeGroup = {
  reverted: [
    {
      name: 'row level security forced on a partitioned table, a policy using current_user dropped, another made, rows added',
      setup: LEDGER,
      sql: (s) =>
        [
          `ALTER TABLE ${s}.ledger FORCE ROW LEVEL SECURITY`,
          `DROP POLICY own_rows ON ${s}.ledger`,
          `CREATE POLICY write_own ON ${s}.ledger AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK (holder = current_user)`,
          `ALTER TABLE ${s}.ledger_2024 ENABLE ROW LEVEL SECURITY`,
          `INSERT INTO ${s}.ledger VALUES (500, current_user, '2025-03-01', 5)`,
        ].join('; '),
      rows: ['ledger_2024', 'ledger_2025'],
      then: async (db, s) => {
        expect(await security(db, `${s}.ledger`)).toEqual({
          flags: { enabled: true, forced: false },
          policies: [
            {
              name: 'own_rows',
              permissive: true,
              cmd: 'r',
              roles: ['public'],
              using: '(holder = CURRENT_USER)',
              check: null,
            },
          ],
        });
        expect((await security(db, `${s}.ledger_2024`)).flags).toEqual({ enabled: false, forced: false });
      },
    },
    {
      name: 'a policy on a table with an enum column altered, and row level security disabled',
      setup: (s) => [
        ...MAKE_ROLES(),
        `CREATE TYPE ${s}.tier AS ENUM ('free', 'pro')`,
        `CREATE TABLE ${s}.member (handle varchar(40) PRIMARY KEY, tier ${s}.tier NOT NULL DEFAULT 'free',
           owner_name text DEFAULT current_user)`,
        `INSERT INTO ${s}.member VALUES ('ann', 'pro', 'ann'), ('bob', 'free', 'bob')`,
        `CREATE POLICY pro_only ON ${s}.member FOR SELECT TO flowstate_reader USING (tier = 'pro')`,
        `ALTER TABLE ${s}.member ENABLE ROW LEVEL SECURITY`,
      ],
      sql: (s) =>
        [
          `ALTER POLICY pro_only ON ${s}.member TO PUBLIC USING (owner_name = current_user)`,
          `ALTER TABLE ${s}.member DISABLE ROW LEVEL SECURITY`,
          `UPDATE ${s}.member SET tier = 'pro' WHERE handle = 'bob'`,
        ].join('; '),
      rows: ['member'],
      then: async (db, s) => {
        const { flags, policies } = await security(db, `${s}.member`);
        expect(flags).toEqual({ enabled: true, forced: false });
        expect(policies).toMatchObject([{ name: 'pro_only', roles: ['flowstate_reader'] }]);
        expect(String(policies[0]?.using)).toMatch(/tier = 'pro'/);
      },
    },
  ],
  applied: [
    {
      name: 'a column and a policy added to a table whose policy reads another table',
      setup: (s) => [
        `CREATE TABLE ${s}.team (name varchar(20) PRIMARY KEY)`,
        `CREATE TABLE ${s}.doc (id int PRIMARY KEY, team varchar(20) REFERENCES ${s}.team, body text)`,
        `INSERT INTO ${s}.team VALUES ('red'), ('blue')`,
        `INSERT INTO ${s}.doc VALUES (1, 'red', 'x'), (2, 'blue', 'y')`,
        `CREATE POLICY team_docs ON ${s}.doc USING (team IN (SELECT name FROM ${s}.team WHERE name <> current_user))`,
        `ALTER TABLE ${s}.doc ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY`,
      ],
      sql: (s) =>
        `ALTER TABLE ${s}.doc ADD COLUMN title text; CREATE POLICY titled ON ${s}.doc FOR UPDATE USING (title IS NOT NULL)`,
      rows: ['doc'],
    },
    {
      name: "a partitioned table's policy altered, row level security enabled on a partition",
      setup: LEDGER,
      sql: (s) =>
        `ALTER POLICY own_rows ON ${s}.ledger USING (holder = current_user OR amount > 100); ALTER TABLE ${s}.ledger_2025 ENABLE ROW LEVEL SECURITY`,
      rows: [],
    },
  ],
};
