/**
 * Shapes on privileges: GRANT and REVOKE on a table, its columns, a view, a sequence and the schema, set back by the
 * revert (they were neither recorded nor compared: a revert said compensated with them left as the migration made
 * them, and a view the revert made again lost its grants).
 */
import { expect } from 'vitest';
import type { Database } from '../../../src/db/port.js';
import { MAKE_ROLES } from './roles.js';
import type { ShapeGroup } from './shape.js';

/** `has_..._privilege(...)` for each check, as one row. */
const privileges = async (db: Database, checks: Record<string, string>) =>
  (
    await db.query(
      `SELECT ${Object.entries(checks)
        .map(([k, v]) => `${v} AS "${k}"`)
        .join(', ')}`,
    )
  ).rows[0];

export const GRANTS: ShapeGroup = {
  reverted: [
    {
      name: 'privileges granted and revoked on a table with varchar keys, its columns, and the schema',
      setup: (s) => [
        ...MAKE_ROLES(),
        `CREATE TABLE ${s}.account (code varchar(12) PRIMARY KEY, holder text, balance numeric(12,2))`,
        `INSERT INTO ${s}.account VALUES ('A-1', 'ann', 10), ('B-2', 'bob', 20)`,
        `GRANT SELECT ON ${s}.account TO flowstate_reader`,
        `GRANT UPDATE (balance) ON ${s}.account TO flowstate_clerk`,
        // A default privilege of the owner taken away.
        `REVOKE TRUNCATE ON ${s}.account FROM CURRENT_USER`,
      ],
      sql: (s) =>
        [
          `GRANT INSERT, DELETE ON ${s}.account TO flowstate_reader`,
          `GRANT SELECT ON ${s}.account TO flowstate_reader WITH GRANT OPTION`,
          `REVOKE UPDATE (balance) ON ${s}.account FROM flowstate_clerk`,
          `GRANT SELECT (holder) ON ${s}.account TO flowstate_clerk`,
          `GRANT TRUNCATE ON ${s}.account TO CURRENT_USER`,
          `GRANT USAGE ON SCHEMA ${s} TO flowstate_reader`,
          `UPDATE ${s}.account SET balance = 0 WHERE code = 'A-1'`,
        ].join('; '),
      rows: ['account'],
      then: async (db, s) => {
        expect(
          await privileges(db, {
            insert: `has_table_privilege('flowstate_reader', '${s}.account', 'INSERT')`,
            select: `has_table_privilege('flowstate_reader', '${s}.account', 'SELECT')`,
            selectOption: `has_table_privilege('flowstate_reader', '${s}.account', 'SELECT WITH GRANT OPTION')`,
            balance: `has_column_privilege('flowstate_clerk', '${s}.account', 'balance', 'UPDATE')`,
            holder: `has_column_privilege('flowstate_clerk', '${s}.account', 'holder', 'SELECT')`,
            usage: `has_schema_privilege('flowstate_reader', '${s}', 'USAGE')`,
            // The owner is a superuser in the tests: its privileges are read from the ACL.
            ownerTruncate: `EXISTS (SELECT 1 FROM pg_class c, aclexplode(COALESCE(c.relacl, acldefault('r'::"char", c.relowner))) a
              WHERE c.oid = '${s}.account'::regclass AND a.grantee = c.relowner AND a.privilege_type = 'TRUNCATE')`,
          }),
        ).toEqual({
          insert: false,
          select: true,
          selectOption: false,
          balance: true,
          holder: false,
          usage: false,
          ownerTruncate: false,
        });
      },
    },
    {
      name: "a view replaced (the revert makes it again, with its grants) and a serial's sequence granted and revoked",
      setup: (s) => [
        ...MAKE_ROLES(),
        `CREATE TABLE ${s}.ticket (id serial PRIMARY KEY, note text)`,
        `INSERT INTO ${s}.ticket (note) VALUES ('a'), ('b')`,
        `CREATE VIEW ${s}.open_ticket AS SELECT id, note FROM ${s}.ticket`,
        `GRANT SELECT ON ${s}.open_ticket TO flowstate_reader`,
        `GRANT USAGE ON SEQUENCE ${s}.ticket_id_seq TO flowstate_clerk`,
      ],
      // The sequence unqualified: the dry run's copy has none, the target's is found after it on the search path.
      sql: (s) =>
        [
          `CREATE OR REPLACE VIEW ${s}.open_ticket AS SELECT id, note, length(note) AS size FROM ${s}.ticket`,
          'GRANT UPDATE ON SEQUENCE ticket_id_seq TO flowstate_reader',
          'REVOKE USAGE ON SEQUENCE ticket_id_seq FROM flowstate_clerk',
        ].join('; '),
      rows: ['ticket'],
      then: async (db, s) => {
        expect(
          await privileges(db, {
            view: `has_table_privilege('flowstate_reader', '${s}.open_ticket', 'SELECT')`,
            update: `has_sequence_privilege('flowstate_reader', '${s}.ticket_id_seq', 'UPDATE')`,
            usage: `has_sequence_privilege('flowstate_clerk', '${s}.ticket_id_seq', 'USAGE')`,
          }),
        ).toEqual({ view: true, update: false, usage: true });
      },
    },
  ],
  applied: [],
};
