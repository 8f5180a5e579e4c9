import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backup, backupTables, restoreBackups } from '../../machines/migration/backup.js';
import { takeSnapshot } from '../../machines/migration.js';
import type { Database } from '../../src/db/port.js';
import { bothAdapters } from '../support/databases.js';

// A revert's restore as a role that does not own the tables (a data migration run by the application's role): it may
// neither defer the foreign keys nor turn the triggers off. It still puts the rows back, in an order the keys allow.

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

describe.each(adapters.list)(
  'restoring backed-up rows as a role that does not own the tables ($name)',
  (adapter) => {
    let db: Database;
    let n = 0;
    beforeAll(async () => {
      db = await adapter.open();
    }, 60_000);

    const rowsOf = async (table: string) =>
      (await db.query(`SELECT to_jsonb(t)::text AS row FROM ${table} t`)).rows
        .map((r) => r.row as string)
        .sort();

    it('undoes deleted lines then their order, and an order inserted with a line moved to it', async () => {
      const s = `keys_${++n}`;
      const clerk = `clerk_${process.pid}_${n}`;
      for (const sql of [
        `CREATE SCHEMA ${s}`,
        `CREATE TABLE ${s}.purchase (id int PRIMARY KEY, note text, updates int NOT NULL DEFAULT 0)`,
        `CREATE TABLE ${s}.line (id int PRIMARY KEY, order_id int NOT NULL REFERENCES ${s}.purchase, qty int)`,
        `INSERT INTO ${s}.purchase VALUES (1, 'a'), (2, 'b')`,
        `INSERT INTO ${s}.line VALUES (10, 1, 1), (11, 2, 2), (12, 2, 3)`,
        `CREATE FUNCTION ${s}.counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updates := OLD.updates + 1; RETURN NEW; END $$`,
        `CREATE TRIGGER counted BEFORE UPDATE ON ${s}.purchase FOR EACH ROW EXECUTE FUNCTION ${s}.counted()`,
        `CREATE ROLE ${clerk}`,
        `GRANT USAGE ON SCHEMA ${s} TO ${clerk}`,
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${clerk}`,
      ])
        await db.query(sql);
      const before = { purchase: await rowsOf(`${s}.purchase`), line: await rowsOf(`${s}.line`) };
      const snapshot = await takeSnapshot(db, s);
      const backups: Backup[] = await db.transaction((tx) =>
        backupTables(tx, snapshot, ['line', 'purchase'], `k${n}`),
      );
      await db.query(`GRANT USAGE ON SCHEMA flowstate_backup TO ${clerk}`);
      await db.query(`GRANT SELECT ON ALL TABLES IN SCHEMA flowstate_backup TO ${clerk}`);
      for (const sql of [
        `DELETE FROM ${s}.line WHERE order_id = 2`,
        `DELETE FROM ${s}.purchase WHERE id = 2`,
        `INSERT INTO ${s}.purchase VALUES (3, 'c')`,
        `INSERT INTO ${s}.line VALUES (30, 3, 1)`,
        `UPDATE ${s}.line SET order_id = 3 WHERE id = 10`,
      ])
        await db.query(sql);

      const restored = await db.transaction(async (tx) => {
        await tx.query(`SET LOCAL ROLE ${clerk}`);
        return restoreBackups(tx, await takeSnapshot(tx, s), backups, []);
      });
      expect(restored).toEqual({ line: 3, purchase: 2 });
      expect(await rowsOf(`${s}.line`)).toEqual(before.line);
      // The trigger could not be turned off: it counted the restore's updates (the rows are otherwise as they were).
      const counted = (await rowsOf(`${s}.purchase`)).map((r) => JSON.parse(r) as Record<string, unknown>);
      expect(counted).toEqual([
        { id: 1, note: 'a', updates: 1 },
        { id: 2, note: 'b', updates: 1 },
      ]);
      expect(before.purchase.map((r) => (JSON.parse(r) as { updates: number }).updates)).toEqual([0, 0]);
      // The keys are as they were: not deferrable.
      const keys = await db.query(
        `SELECT condeferrable FROM pg_constraint WHERE contype = 'f' AND conrelid = '${s}.line'::regclass`,
      );
      expect(keys.rows).toEqual([{ condeferrable: false }]);
    });

    // Values swapped through a temporary one under a UNIQUE that is not deferrable: one UPDATE cannot set them back.
    it('puts swapped unique values back as a role that may not defer keys, where no key refers to them', async () => {
      const s = `keys_${++n}`;
      const clerk = `clerk_${process.pid}_${n}`;
      await db.query(`CREATE SCHEMA ${s}`);
      for (const sql of [
        `CREATE TABLE ${s}.seat (id int PRIMARY KEY, code int NOT NULL UNIQUE, note text)`,
        `INSERT INTO ${s}.seat VALUES (1, 1, 'a'), (2, 2, 'b')`,
        `CREATE ROLE ${clerk}`,
        `GRANT USAGE ON SCHEMA ${s} TO ${clerk}`,
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${clerk}`,
      ])
        await db.query(sql);
      const before = await rowsOf(`${s}.seat`);
      const snapshot = await takeSnapshot(db, s);
      const backups = await db.transaction((tx) => backupTables(tx, snapshot, ['seat'], `k${n}`));
      await db.query(`GRANT USAGE ON SCHEMA flowstate_backup TO ${clerk}`);
      await db.query(`GRANT SELECT ON ALL TABLES IN SCHEMA flowstate_backup TO ${clerk}`);
      for (const sql of [
        `UPDATE ${s}.seat SET code = 0 WHERE id = 1`,
        `UPDATE ${s}.seat SET code = 1, note = 'x' WHERE id = 2`,
        `UPDATE ${s}.seat SET code = 2 WHERE id = 1`,
      ])
        await db.query(sql);
      const restored = await db.transaction(async (tx) => {
        await tx.query(`SET LOCAL ROLE ${clerk}`);
        return restoreBackups(tx, await takeSnapshot(tx, s), backups, []);
      });
      expect(restored).toEqual({ seat: 2 });
      expect(await rowsOf(`${s}.seat`)).toEqual(before);
    });

    it('leaves swapped unique values to fail the restore where deleting them would cascade', async () => {
      const s = `keys_${++n}`;
      await db.query(`CREATE SCHEMA ${s}`);
      for (const sql of [
        `CREATE TABLE ${s}.seat (id int PRIMARY KEY, code int NOT NULL UNIQUE)`,
        `CREATE TABLE ${s}.ticket (id int PRIMARY KEY, seat_id int REFERENCES ${s}.seat ON DELETE CASCADE)`,
        `INSERT INTO ${s}.seat VALUES (1, 1), (2, 2)`,
        `INSERT INTO ${s}.ticket VALUES (1, 1), (2, 2)`,
      ])
        await db.query(sql);
      const snapshot = await takeSnapshot(db, s);
      const backups = await db.transaction((tx) => backupTables(tx, snapshot, ['seat'], `k${n}`));
      for (const sql of [
        `UPDATE ${s}.seat SET code = 0 WHERE id = 1`,
        `UPDATE ${s}.seat SET code = 1 WHERE id = 2`,
        `UPDATE ${s}.seat SET code = 2 WHERE id = 1`,
      ])
        await db.query(sql);
      const tickets = await rowsOf(`${s}.ticket`);
      // Replacing the seats would delete their tickets (ON DELETE CASCADE): the restore fails instead, as before.
      await expect(
        db.transaction(async (tx) => restoreBackups(tx, await takeSnapshot(tx, s), backups, [])),
      ).rejects.toThrow(/duplicate key value violates unique constraint "seat_code_key"/);
      expect(await rowsOf(`${s}.ticket`)).toEqual(tickets);
    });
  },
);
