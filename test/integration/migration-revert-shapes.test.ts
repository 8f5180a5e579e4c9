import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareSnapshots,
  type MigrationInput,
  migration,
  migrationAgents,
  takeSnapshot,
  template,
} from '../../machines/migration.js';
import type { Database } from '../../src/db/port.js';
import type { AgentFunction } from '../../src/index.js';
import { bothAdapters } from '../support/databases.js';
import { testEngine } from '../support/engine.js';

// Shapes a review of the revert on partitioned and inherited tables broke (found on PostgreSQL 15 and PGlite): each
// migration is applied, its verification made to fail, and the revert must bring back the schema and the rows
// exactly, or the dry run must say it cannot; and migrations that could never apply on such schemas now do.

const adapters = bothAdapters();
afterAll(() => adapters.stop(), 30_000);

/** `vehicle` and its inheritance child `truck`. */
const VEHICLES = (s: string) => [
  `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text)`,
  `CREATE TABLE ${s}.truck (load int) INHERITS (${s}.vehicle)`,
  `INSERT INTO ${s}.vehicle VALUES ('V1', 'a'), ('V2', 'b')`,
  `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
];
/** `ev`, partitioned by range, two partitions. */
const EVENTS = (s: string) => [
  `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, note text, n int) PARTITION BY RANGE (at)`,
  `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
  `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
  `INSERT INTO ${s}.ev SELECT g, DATE '2024-06-01' + g, 'n' || g, g FROM generate_series(1, 400) g`,
];

/** `orders`, referenced by `items` (ON DELETE CASCADE, and `lines` by items, CASCADE) and `notes` (SET NULL). */
const ORDERS = (s: string) => [
  `CREATE TABLE ${s}.orders (id int PRIMARY KEY)`,
  `CREATE TABLE ${s}.items (id int PRIMARY KEY, order_id int REFERENCES ${s}.orders ON DELETE CASCADE)`,
  `CREATE TABLE ${s}.lines (id int PRIMARY KEY, item_id int REFERENCES ${s}.items ON DELETE CASCADE)`,
  `CREATE TABLE ${s}.notes (id int PRIMARY KEY, order_id int REFERENCES ${s}.orders ON DELETE SET NULL)`,
  `INSERT INTO ${s}.orders VALUES (1), (2)`,
  `INSERT INTO ${s}.items VALUES (1, 1), (2, 1), (3, 2)`,
  `INSERT INTO ${s}.lines VALUES (1, 1), (2, 3)`,
  `INSERT INTO ${s}.notes VALUES (1, 1), (2, 2)`,
];
/** `purchase`, referenced by `line` (no action on delete: a line must go before its order). */
const SHOP = (s: string) => [
  `CREATE TABLE ${s}.purchase (id int PRIMARY KEY, note text)`,
  `CREATE TABLE ${s}.line (id int PRIMARY KEY, order_id int NOT NULL REFERENCES ${s}.purchase, qty int)`,
  `INSERT INTO ${s}.purchase VALUES (1, 'a'), (2, 'b')`,
  `INSERT INTO ${s}.line VALUES (10, 1, 1), (11, 2, 2), (12, 2, 3)`,
];
/** `ev` by range, `ev_2024` by list in turn, with rows in every leaf. */
const TREE = (s: string) => [
  `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, kind text NOT NULL) PARTITION BY RANGE (at)`,
  `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (kind)`,
  `CREATE TABLE ${s}.ev_2024_a PARTITION OF ${s}.ev_2024 FOR VALUES IN ('a')`,
  `CREATE TABLE ${s}.ev_2024_b PARTITION OF ${s}.ev_2024 FOR VALUES IN ('b')`,
  `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
  `INSERT INTO ${s}.ev SELECT g, DATE '2024-03-01' + g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 500) g`,
];
/** `vehicle` ← `truck` ← `bigtruck`, the children without keys. */
const GENERATIONS = (s: string) => [
  `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text DEFAULT 'p')`,
  `CREATE TABLE ${s}.truck (load int) INHERITS (${s}.vehicle)`,
  `CREATE TABLE ${s}.bigtruck (axles int) INHERITS (${s}.truck)`,
  `INSERT INTO ${s}.vehicle VALUES ('V1', 'a')`,
  `INSERT INTO ${s}.truck VALUES ('T1', 'b', 3), ('T1', 'b', 3)`,
  `INSERT INTO ${s}.bigtruck VALUES ('B1', 'c', 9, 6)`,
];

interface Shape {
  readonly name: string;
  readonly setup: (s: string) => string[];
  readonly sql: (s: string) => string;
  /** The tables whose rows must come back as they were. */
  readonly rows: readonly string[];
  /** What must work after the revert, besides the same schema and rows. */
  readonly then?: (db: Database, s: string) => Promise<unknown>;
  /** Dry-run on the target itself (the scratch copy has no triggers: a migration that alters one fails there). */
  readonly live?: boolean;
}

const REVERTED: readonly Shape[] = [
  {
    name: "a parent's default, with a child that had it already",
    setup: (s) => [...VEHICLES(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET DEFAULT 'x'`],
    sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note SET DEFAULT 'x'`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: "a partitioned table's default, with a partition that had it already",
    setup: (s) => [...EVENTS(s), `ALTER TABLE ${s}.ev_2024 ALTER COLUMN n SET DEFAULT 9`],
    sql: (s) => `ALTER TABLE ${s}.ev ALTER COLUMN n SET DEFAULT 9`,
    rows: ['ev'],
  },
  {
    name: "a parent's NOT NULL, with a child that had it already",
    setup: (s) => [...VEHICLES(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET NOT NULL`],
    sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note SET NOT NULL`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: "a partitioned table's NOT NULL, with a partition that had it already",
    setup: (s) => [...EVENTS(s), `ALTER TABLE ${s}.ev_2024 ALTER COLUMN n SET NOT NULL`],
    sql: (s) => `ALTER TABLE ${s}.ev ALTER COLUMN n SET NOT NULL`,
    rows: ['ev'],
  },
  {
    name: "a parent's column dropped, redefined by its child with its own default",
    setup: (s) => [
      `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text NOT NULL DEFAULT 'p')`,
      `CREATE TABLE ${s}.truck (note text NOT NULL DEFAULT 'c', load int) INHERITS (${s}.vehicle)`,
      `INSERT INTO ${s}.vehicle VALUES ('V1', 'a')`,
      `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
    ],
    sql: (s) => `ALTER TABLE ${s}.vehicle DROP COLUMN note`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: 'an inheritance removed',
    setup: VEHICLES,
    sql: (s) => `ALTER TABLE ${s}.truck NO INHERIT ${s}.vehicle`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: 'an inheritance added',
    setup: (s) => [...VEHICLES(s), `CREATE TABLE ${s}.van (id text NOT NULL, note text, seats int)`],
    sql: (s) => `ALTER TABLE ${s}.van INHERIT ${s}.vehicle`,
    rows: ['vehicle', 'van'],
  },
  {
    name: 'a partitioned table without partitions dropped',
    setup: (s) => [`CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)`],
    sql: (s) => `DROP TABLE ${s}.ev`,
    rows: [],
  },
  {
    name: "a parent's column type, inherited by its child",
    setup: VEHICLES,
    sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note TYPE varchar(200)`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: "a partitioned table's key dropped, with a partition's own-named key",
    setup: (s) => [
      `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      `CREATE TABLE ${s}.ev_2025 (id int NOT NULL, at date NOT NULL, CONSTRAINT my_2025_pk PRIMARY KEY (id, at))`,
      `ALTER TABLE ${s}.ev ADD PRIMARY KEY (id, at)`,
      `ALTER TABLE ${s}.ev ATTACH PARTITION ${s}.ev_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
      `INSERT INTO ${s}.ev SELECT g, DATE '2024-06-01' + g FROM generate_series(1, 400) g`,
    ],
    sql: (s) => `ALTER TABLE ${s}.ev DROP CONSTRAINT ev_pkey`,
    rows: ['ev'],
  },
  {
    name: 'a new partition of a table a foreign key points to',
    setup: (s) => [
      `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      `CREATE TABLE ${s}.ref (ev_id int, ev_at date, FOREIGN KEY (ev_id, ev_at) REFERENCES ${s}.ev)`,
      `INSERT INTO ${s}.ev VALUES (1, '2024-02-02')`,
      `INSERT INTO ${s}.ref VALUES (1, '2024-02-02')`,
    ],
    sql: (s) =>
      `CREATE TABLE ${s}.ev_2026 PARTITION OF ${s}.ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`,
    rows: ['ev', 'ref'],
  },
  {
    name: "a parent's index that takes over a partition's own index",
    setup: (s) => [...EVENTS(s), `CREATE INDEX ev_2024_own ON ${s}.ev_2024 (n)`],
    sql: (s) => `CREATE INDEX ev_n ON ${s}.ev (n)`,
    rows: ['ev'],
  },
  {
    name: "a parent's index renamed",
    setup: (s) => [...EVENTS(s), `CREATE INDEX ev_n ON ${s}.ev (n)`],
    sql: (s) => `ALTER INDEX ${s}.ev_n RENAME TO ev_n2`,
    rows: ['ev'],
  },
  {
    name: 'a column declared by the child too, retyped on the parent',
    setup: (s) => [
      `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text)`,
      `CREATE TABLE ${s}.truck (note text, load int) INHERITS (${s}.vehicle)`,
      `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
    ],
    sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note TYPE varchar(200)`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: "a parent's default, with a child that has its own",
    setup: (s) => [...VEHICLES(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET DEFAULT 'own'`],
    sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note SET DEFAULT 'x'`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: 'a parent dropped with its children (CASCADE)',
    setup: VEHICLES,
    sql: (s) => `DROP TABLE ${s}.vehicle CASCADE`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: 'rows deleted with an ON DELETE CASCADE and an ON DELETE SET NULL',
    setup: ORDERS,
    sql: (s) => `DELETE FROM ${s}.orders WHERE id = 1`,
    rows: ['orders', 'items', 'notes', 'lines'],
  },
  {
    name: 'rows deleted under a new name, with an ON DELETE CASCADE',
    setup: ORDERS,
    sql: (s) => `ALTER TABLE ${s}.orders RENAME TO orders_old; DELETE FROM ${s}.orders_old WHERE id = 1`,
    rows: ['items', 'notes', 'lines'],
  },
  {
    name: 'a table truncated with CASCADE',
    setup: ORDERS,
    sql: (s) => `TRUNCATE ${s}.orders CASCADE`,
    rows: ['orders', 'items', 'notes', 'lines'],
  },
  {
    name: 'a partitioned table dropped with its partitions and their rows',
    setup: TREE,
    sql: (s) => `DROP TABLE ${s}.ev`,
    rows: ['ev_2024_a', 'ev_2024_b', 'ev_2025'],
  },
  {
    name: 'a partitioned partition dropped with its partitions',
    setup: TREE,
    sql: (s) => `DROP TABLE ${s}.ev_2024`,
    rows: ['ev_2024_a', 'ev_2024_b', 'ev_2025'],
  },
  {
    name: 'a grandchild dropped (three levels of inheritance)',
    setup: GENERATIONS,
    sql: (s) => `DROP TABLE ${s}.bigtruck`,
    rows: ['vehicle', 'truck', 'bigtruck'],
  },
  {
    name: 'an identity column dropped (its sequence comes back past the restored values)',
    setup: (s) => [
      `CREATE TABLE ${s}.t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)`,
      `INSERT INTO ${s}.t (v) SELECT 'v' || g FROM generate_series(1, 10) g`,
      `DELETE FROM ${s}.t WHERE id <= 5`,
    ],
    sql: (s) => `ALTER TABLE ${s}.t DROP COLUMN id`,
    rows: ['t'],
    then: (db, s) => db.query(`INSERT INTO ${s}.t (v) VALUES ('after')`),
  },
  {
    name: 'rows updated in a table with a GENERATED ALWAYS identity besides its key',
    setup: (s) => [
      `CREATE TABLE ${s}.t (code text PRIMARY KEY, seq int GENERATED ALWAYS AS IDENTITY, v text)`,
      `INSERT INTO ${s}.t (code, v) VALUES ('a', 'one'), ('b', 'two')`,
    ],
    sql: (s) => `UPDATE ${s}.t SET v = 'x'`,
    rows: ['t'],
  },
  {
    name: 'one of two parents let go (the order of parents comes back)',
    setup: (s) => [
      `CREATE TABLE ${s}.a (id int NOT NULL, x int)`,
      `CREATE TABLE ${s}.b (id int NOT NULL, y int)`,
      `CREATE TABLE ${s}.c (z int) INHERITS (${s}.a, ${s}.b)`,
      `INSERT INTO ${s}.c VALUES (1, 2, 3, 4)`,
    ],
    sql: (s) => `ALTER TABLE ${s}.c NO INHERIT ${s}.a`,
    rows: ['a', 'b', 'c'],
  },
  {
    name: "rows updated through a parent into a partition's NOT VALID check",
    setup: (s) => [...EVENTS(s), `ALTER TABLE ${s}.ev_2024 ADD CONSTRAINT big_n CHECK (n > 1000) NOT VALID`],
    sql: (s) => `UPDATE ${s}.ev SET n = n + 1000 WHERE id < 10`,
    rows: ['ev_2024', 'ev_2025'],
  },
  {
    name: "a child's row deleted through its parent",
    setup: VEHICLES,
    sql: (s) => `DELETE FROM ${s}.vehicle WHERE id = 'T1'`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: 'a parent without a key truncated, with its child',
    setup: (s) => [
      `CREATE TABLE ${s}.vehicle (id text, note text)`,
      `CREATE TABLE ${s}.truck (load int) INHERITS (${s}.vehicle)`,
      `INSERT INTO ${s}.vehicle VALUES ('V1', 'a'), ('V1', 'a')`,
      `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
    ],
    sql: (s) => `TRUNCATE ${s}.vehicle`,
    rows: ['vehicle', 'truck'],
  },
  {
    name: 'rows deleted from a table whose NOT VALID check old rows break',
    setup: (s) => [
      `CREATE TABLE ${s}.t (id int PRIMARY KEY, n int)`,
      `INSERT INTO ${s}.t SELECT g, g - 3 FROM generate_series(1, 10) g`,
      `ALTER TABLE ${s}.t ADD CONSTRAINT t_positive CHECK (n > 0) NOT VALID`,
    ],
    sql: (s) => `DELETE FROM ${s}.t WHERE id < 3`,
    rows: ['t'],
  },
  // Found by review: rows were put back table by table in statement order, and the user's triggers fired on them.
  {
    name: 'order lines deleted, then their orders (a foreign key that is not deferrable)',
    setup: SHOP,
    sql: (s) => `DELETE FROM ${s}.line WHERE order_id = 2; DELETE FROM ${s}.purchase WHERE id = 2`,
    rows: ['purchase', 'line'],
  },
  {
    name: 'an order and its lines inserted, a line moved to it',
    setup: SHOP,
    sql: (s) =>
      `INSERT INTO ${s}.purchase VALUES (3, 'c'); INSERT INTO ${s}.line VALUES (30, 3, 1); UPDATE ${s}.line SET order_id = 3 WHERE id = 10`,
    rows: ['purchase', 'line'],
  },
  {
    name: "rows updated in a table whose trigger counts each row's updates, and one that refuses deletes",
    setup: (s) => [
      ...SHOP(s),
      `ALTER TABLE ${s}.purchase ADD COLUMN updates int NOT NULL DEFAULT 0`,
      `CREATE FUNCTION ${s}.counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updates := OLD.updates + 1; RETURN NEW; END $$`,
      `CREATE TRIGGER counted BEFORE UPDATE ON ${s}.purchase FOR EACH ROW EXECUTE FUNCTION ${s}.counted()`,
      `CREATE FUNCTION ${s}.kept() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'lines are kept'; END $$`,
      `CREATE TRIGGER kept BEFORE DELETE ON ${s}.line FOR EACH ROW EXECUTE FUNCTION ${s}.kept()`,
      `ALTER TABLE ${s}.line ENABLE ALWAYS TRIGGER kept`,
      `CREATE TRIGGER idle BEFORE UPDATE ON ${s}.line FOR EACH ROW EXECUTE FUNCTION ${s}.kept()`,
      `ALTER TABLE ${s}.line DISABLE TRIGGER idle`,
    ],
    sql: (s) => `UPDATE ${s}.purchase SET note = 'x' WHERE id = 1; INSERT INTO ${s}.line VALUES (30, 1, 5)`,
    rows: ['purchase', 'line'],
    // Set back as they were: `kept` always fires, `idle` stays off.
    then: async (db, s) => {
      const { rows } = await db.query(
        `SELECT tgname AS name, tgenabled::text AS enabled FROM pg_trigger WHERE tgrelid = '${s}.line'::regclass AND NOT tgisinternal ORDER BY 1`,
      );
      expect(rows).toEqual([
        { name: 'idle', enabled: 'D' },
        { name: 'kept', enabled: 'A' },
      ]);
    },
  },
  // Found by the review of that: a deferred check pending when the triggers were set back; a key of one name with
  // another in the schema; a tree's key to itself; a table without a primary key emptied under ON DELETE CASCADE.
  {
    name: 'an order inserted, beside a deferred key and a trigger',
    setup: (s) => [
      `CREATE TABLE ${s}.purchase (id int PRIMARY KEY, note text, updates int NOT NULL DEFAULT 0)`,
      `CREATE TABLE ${s}.line (id int PRIMARY KEY, order_id int NOT NULL REFERENCES ${s}.purchase DEFERRABLE INITIALLY DEFERRED)`,
      `INSERT INTO ${s}.purchase VALUES (1, 'a'), (2, 'b')`,
      `INSERT INTO ${s}.line VALUES (10, 1), (11, 2)`,
      `CREATE FUNCTION ${s}.counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updates := OLD.updates + 1; RETURN NEW; END $$`,
      `CREATE TRIGGER counted BEFORE UPDATE ON ${s}.purchase FOR EACH ROW EXECUTE FUNCTION ${s}.counted()`,
    ],
    sql: (s) => `INSERT INTO ${s}.purchase VALUES (3, 'c')`,
    rows: ['purchase', 'line'],
  },
  {
    name: 'a slug freed and reused, beside two keys of one name',
    setup: (s) => [
      `CREATE TABLE ${s}.category (id int PRIMARY KEY, parent_id int CONSTRAINT fk_parent REFERENCES ${s}.category)`,
      `CREATE TABLE ${s}.post (id int PRIMARY KEY, slug text NOT NULL UNIQUE)`,
      `CREATE TABLE ${s}.comment (id int PRIMARY KEY, post_id int CONSTRAINT fk_post REFERENCES ${s}.post, parent_id int CONSTRAINT fk_parent REFERENCES ${s}.comment)`,
      `INSERT INTO ${s}.post VALUES (1, 'first'), (2, 'second')`,
      `INSERT INTO ${s}.comment VALUES (1, 1, NULL), (2, 2, NULL), (3, 2, 2)`,
    ],
    sql: (s) =>
      `DELETE FROM ${s}.comment WHERE id = 3; DELETE FROM ${s}.comment WHERE id = 2; DELETE FROM ${s}.post WHERE id = 2; INSERT INTO ${s}.post VALUES (5, 'second')`,
    rows: ['post', 'comment'],
  },
  {
    name: 'a node inserted into a tree and another moved under it',
    setup: (s) => [
      `CREATE TABLE ${s}.cat (id int PRIMARY KEY, parent_id int REFERENCES ${s}.cat, name text)`,
      `INSERT INTO ${s}.cat VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'c')`,
    ],
    sql: (s) => `INSERT INTO ${s}.cat VALUES (10, 1, 'new'); UPDATE ${s}.cat SET parent_id = 10 WHERE id = 2`,
    rows: ['cat'],
  },
  {
    name: 'a table without a primary key updated, its rows referenced ON DELETE CASCADE',
    setup: (s) => [
      `CREATE TABLE ${s}.country (code text NOT NULL UNIQUE, name text)`,
      `CREATE TABLE ${s}.city (id int PRIMARY KEY, country text REFERENCES ${s}.country (code) ON DELETE CASCADE)`,
      `CREATE TABLE ${s}.visit (id int PRIMARY KEY, country text REFERENCES ${s}.country (code) ON DELETE SET NULL)`,
      `INSERT INTO ${s}.country VALUES ('FR', 'France'), ('DE', 'Germany')`,
      `INSERT INTO ${s}.city VALUES (1, 'FR'), (2, 'FR'), (3, 'DE')`,
      `INSERT INTO ${s}.visit VALUES (1, 'DE')`,
    ],
    sql: (s) => `UPDATE ${s}.country SET name = upper(name) WHERE code = 'FR'`,
    rows: ['country', 'city', 'visit'],
  },
  // Found by review: triggers and rules were not compared: a revert said compensated with one left created, dropped
  // or disabled by the migration.
  {
    name: 'a trigger created',
    setup: (s) => [
      ...SHOP(s),
      `ALTER TABLE ${s}.purchase ADD COLUMN updates int NOT NULL DEFAULT 0`,
      `CREATE FUNCTION ${s}.counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updates := OLD.updates + 1; RETURN NEW; END $$`,
    ],
    sql: (s) =>
      `CREATE TRIGGER counted BEFORE UPDATE ON ${s}.purchase FOR EACH ROW EXECUTE FUNCTION ${s}.counted()`,
    rows: ['purchase'],
    // The dry run's copy has not the schema's functions (a qualified call is read in the copy).
    live: true,
    then: async (db, s) => {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = '${s}.purchase'::regclass AND NOT tgisinternal`,
      );
      expect(rows).toEqual([{ n: 0 }]);
    },
  },
  {
    name: 'a trigger dropped, another disabled, a rule made',
    setup: (s) => [
      ...SHOP(s),
      `ALTER TABLE ${s}.purchase ADD COLUMN updates int NOT NULL DEFAULT 0`,
      `CREATE FUNCTION ${s}.counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updates := OLD.updates + 1; RETURN NEW; END $$`,
      `CREATE TRIGGER counted BEFORE UPDATE ON ${s}.purchase FOR EACH ROW EXECUTE FUNCTION ${s}.counted()`,
      `CREATE FUNCTION ${s}.counted_line() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
      `CREATE TRIGGER counted_too BEFORE UPDATE ON ${s}.line FOR EACH ROW EXECUTE FUNCTION ${s}.counted_line()`,
      `ALTER TABLE ${s}.line ENABLE ALWAYS TRIGGER counted_too`,
    ],
    sql: (s) =>
      `DROP TRIGGER counted ON ${s}.purchase; ALTER TABLE ${s}.line DISABLE TRIGGER counted_too; CREATE RULE keep AS ON DELETE TO ${s}.line DO INSTEAD NOTHING; UPDATE ${s}.purchase SET note = 'x' WHERE id = 1`,
    rows: ['purchase', 'line'],
    live: true,
    // Back as they were: `counted` counts again, `counted_too` always fires, no rule.
    then: async (db, s) => {
      await db.query(`UPDATE ${s}.purchase SET note = 'y' WHERE id = 2`);
      expect((await db.query(`SELECT updates FROM ${s}.purchase WHERE id = 2`)).rows).toEqual([
        { updates: 1 },
      ]);
      const { rows } = await db.query(
        `SELECT tgenabled::text AS enabled FROM pg_trigger WHERE tgname = 'counted_too' AND tgrelid = '${s}.line'::regclass`,
      );
      expect(rows).toEqual([{ enabled: 'A' }]);
    },
  },
  {
    name: 'an identity dropped, its column given a default of its own',
    setup: (s) => [
      `CREATE TABLE ${s}.ticket (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)`,
      `INSERT INTO ${s}.ticket (note) VALUES ('a'), ('b')`,
      `CREATE SEQUENCE ${s}.other START 100`,
    ],
    sql: (s) =>
      `ALTER TABLE ${s}.ticket ALTER COLUMN id DROP IDENTITY; ALTER TABLE ${s}.ticket ALTER COLUMN id SET DEFAULT nextval('${s}.other')`,
    rows: ['ticket'],
    // An identity again, ALWAYS, going on past the rows there.
    then: async (db, s) => {
      await db.query(`INSERT INTO ${s}.ticket (note) VALUES ('c')`);
      await expect(db.query(`INSERT INTO ${s}.ticket (id, note) VALUES (9, 'd')`)).rejects.toThrow(
        /cannot insert a non-DEFAULT value/,
      );
      expect((await db.query(`SELECT max(id) AS n FROM ${s}.ticket`)).rows).toEqual([{ n: 3 }]);
    },
  },
  {
    name: 'an identity added to a plain column',
    setup: (s) => [
      `CREATE TABLE ${s}.ticket (id int NOT NULL PRIMARY KEY, note text)`,
      `INSERT INTO ${s}.ticket VALUES (1, 'a')`,
    ],
    sql: (s) => `ALTER TABLE ${s}.ticket ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY`,
    rows: ['ticket'],
  },
  {
    name: 'an identity turned from ALWAYS to BY DEFAULT',
    setup: (s) => [
      `CREATE TABLE ${s}.ticket (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)`,
      `INSERT INTO ${s}.ticket (note) VALUES ('a')`,
    ],
    sql: (s) => `ALTER TABLE ${s}.ticket ALTER COLUMN id SET GENERATED BY DEFAULT`,
    rows: ['ticket'],
  },
  // Found by review: the dry run's copy re-made a key's copies to each partition of the table it references under
  // one name (`..._fkey1 already exists`), and a restore's single UPDATE collided with a non-deferrable UNIQUE.
  {
    name: 'rows updated beside a foreign key to a table of several partitions, and one from it',
    setup: (s) => [
      `CREATE TABLE ${s}.kind (id int PRIMARY KEY)`,
      `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, kind int REFERENCES ${s}.kind, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
      `CREATE TABLE ${s}.ev_2026 PARTITION OF ${s}.ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`,
      `CREATE TABLE ${s}.ref (id int PRIMARY KEY, ev_id int, ev_at date, note text, FOREIGN KEY (ev_id, ev_at) REFERENCES ${s}.ev)`,
      `INSERT INTO ${s}.kind VALUES (1), (2)`,
      `INSERT INTO ${s}.ev VALUES (1, '2024-02-02', 1), (2, '2025-02-02', 2)`,
      `INSERT INTO ${s}.ref VALUES (1, 1, '2024-02-02', 'a'), (2, 2, '2025-02-02', 'b')`,
    ],
    sql: (s) =>
      `UPDATE ${s}.ref SET note = 'x'; DELETE FROM ${s}.ev WHERE id = 2 AND NOT EXISTS (SELECT 1 FROM ${s}.ref WHERE ev_id = 2)`,
    rows: ['kind', 'ev_2024', 'ev_2025', 'ref'],
  },
  {
    name: "a foreign key's copies to partitions named the other way round",
    setup: (s) => [
      `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.ref (id int PRIMARY KEY, ev_id int, ev_at date, FOREIGN KEY (ev_id, ev_at) REFERENCES ${s}.ev)`,
      // Made after the key, last bound first: the target names the key's copies in the other order than the copy.
      `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
      `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      `INSERT INTO ${s}.ev VALUES (1, '2024-02-02'), (2, '2025-02-02')`,
      `INSERT INTO ${s}.ref VALUES (1, 1, '2024-02-02'), (2, 2, '2025-02-02')`,
    ],
    sql: (s) => `DELETE FROM ${s}.ref WHERE id = 2`,
    rows: ['ev_2024', 'ev_2025', 'ref'],
  },
  {
    name: 'a foreign key between two tables of several partitions, its rows updated',
    setup: (s) => [
      `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
      `CREATE TABLE ${s}.log (id int NOT NULL, ev_id int, ev_at date, note text, FOREIGN KEY (ev_id, ev_at) REFERENCES ${s}.ev) PARTITION BY HASH (id)`,
      `CREATE TABLE ${s}.log_0 PARTITION OF ${s}.log FOR VALUES WITH (MODULUS 2, REMAINDER 0)`,
      `CREATE TABLE ${s}.log_1 PARTITION OF ${s}.log FOR VALUES WITH (MODULUS 2, REMAINDER 1)`,
      `INSERT INTO ${s}.ev VALUES (1, '2024-02-02'), (2, '2025-02-02')`,
      `INSERT INTO ${s}.log SELECT g, 1 + g % 2, CASE WHEN g % 2 = 0 THEN DATE '2024-02-02' ELSE DATE '2025-02-02' END, 'n' FROM generate_series(1, 10) g`,
    ],
    sql: (s) => `UPDATE ${s}.log SET note = 'x' WHERE id < 5`,
    rows: ['ev_2024', 'ev_2025', 'log_0', 'log_1'],
  },
  {
    name: 'unique values swapped between rows through a temporary value',
    setup: (s) => [
      `CREATE TABLE ${s}.seat (id int PRIMARY KEY, code int NOT NULL UNIQUE, note text)`,
      `CREATE TABLE ${s}.ticket (id int PRIMARY KEY, seat_id int REFERENCES ${s}.seat)`,
      `INSERT INTO ${s}.seat VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')`,
      `INSERT INTO ${s}.ticket VALUES (1, 1), (2, 2)`,
    ],
    sql: (s) =>
      `UPDATE ${s}.seat SET code = 0 WHERE id = 1; UPDATE ${s}.seat SET code = 1 WHERE id = 2; UPDATE ${s}.seat SET code = 2, note = 'x' WHERE id = 1`,
    rows: ['seat', 'ticket'],
  },
  {
    name: 'ranges swapped under an exclusion constraint, and keys in partitions',
    setup: (s) => [
      `CREATE TABLE ${s}.booking (id int PRIMARY KEY, during int4range NOT NULL, EXCLUDE USING gist (during WITH &&))`,
      `INSERT INTO ${s}.booking VALUES (1, '[1,2)'), (2, '[3,4)')`,
      `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, code int NOT NULL, PRIMARY KEY (id, at), UNIQUE (code, at)) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
      `INSERT INTO ${s}.ev VALUES (1, '2024-02-02', 1), (2, '2024-02-02', 2), (3, '2025-02-02', 1)`,
    ],
    sql: (s) =>
      `UPDATE ${s}.booking SET during = '[9,10)' WHERE id = 1; UPDATE ${s}.booking SET during = '[1,2)' WHERE id = 2; UPDATE ${s}.booking SET during = '[3,4)' WHERE id = 1; UPDATE ${s}.ev SET code = -code WHERE at < '2025-01-01'; UPDATE ${s}.ev SET code = 3 - code WHERE code < 0`,
    rows: ['booking', 'ev_2024', 'ev_2025'],
  },
  {
    name: 'an orphan row of a NOT VALID foreign key updated, a row deleted',
    setup: (s) => [
      `CREATE TABLE ${s}.purchase (id int PRIMARY KEY)`,
      `CREATE TABLE ${s}.line (id int PRIMARY KEY, order_id int, qty int)`,
      `INSERT INTO ${s}.purchase VALUES (1), (2)`,
      `INSERT INTO ${s}.line VALUES (10, 1, 1), (11, 99, 2)`,
      `ALTER TABLE ${s}.line ADD CONSTRAINT line_order FOREIGN KEY (order_id) REFERENCES ${s}.purchase NOT VALID`,
    ],
    sql: (s) => `UPDATE ${s}.line SET qty = 5 WHERE id = 11; DELETE FROM ${s}.purchase WHERE id = 2`,
    rows: ['purchase', 'line'],
  },
];

/** Migrations that could never apply on such schemas (the dry run's copy or the verification got them wrong). */
const APPLIED: readonly Shape[] = [
  {
    name: "a parent's column dropped, inherited by its child",
    setup: VEHICLES,
    sql: (s) => `ALTER TABLE ${s}.vehicle DROP COLUMN note`,
    rows: [],
  },
  {
    name: 'a column added beside a partition with its own default and NOT NULL',
    setup: (s) => [
      ...EVENTS(s),
      `ALTER TABLE ${s}.ev_2024 ALTER COLUMN n SET DEFAULT 5`,
      `ALTER TABLE ${s}.ev_2025 ALTER COLUMN n SET NOT NULL`,
    ],
    sql: (s) => `ALTER TABLE ${s}.ev ADD COLUMN tag text`,
    rows: [],
  },
  {
    name: "a column added on a grandparent, beside a child's own default",
    setup: (s) => [...GENERATIONS(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET DEFAULT 'c'`],
    sql: (s) => `ALTER TABLE ${s}.vehicle ADD COLUMN color text`,
    rows: [],
  },
  {
    name: "a column added beside a partitioned partition's own default",
    setup: (s) => [...TREE(s), `ALTER TABLE ${s}.ev_2024 ALTER COLUMN id SET DEFAULT 5`],
    sql: (s) => `ALTER TABLE ${s}.ev ADD COLUMN tag text`,
    rows: [],
  },
  {
    name: "a column added beside a partition's own-named key",
    setup: (s) => [
      `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)`,
      `CREATE TABLE ${s}.ev_2025 (id int NOT NULL, at date NOT NULL, CONSTRAINT my_2025_pk PRIMARY KEY (id, at))`,
      `ALTER TABLE ${s}.ev ADD PRIMARY KEY (id, at)`,
      `ALTER TABLE ${s}.ev ATTACH PARTITION ${s}.ev_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
    ],
    sql: (s) => `ALTER TABLE ${s}.ev ADD COLUMN tag text`,
    rows: [],
  },
  // Found by review: the copy's rows are its own transaction's, and PostgreSQL checks a foreign key again on any
  // update of such a row: updating a row a NOT VALID key's target lacks failed the dry run, not the target.
  {
    name: 'rows updated that break a NOT VALID foreign key',
    setup: (s) => [
      `CREATE TABLE ${s}.purchase (id int PRIMARY KEY)`,
      `CREATE TABLE ${s}.line (id int PRIMARY KEY, order_id int, qty int)`,
      `INSERT INTO ${s}.purchase VALUES (1)`,
      `INSERT INTO ${s}.line VALUES (10, 1, 1), (11, 99, 2)`,
      `ALTER TABLE ${s}.line ADD CONSTRAINT line_order FOREIGN KEY (order_id) REFERENCES ${s}.purchase NOT VALID`,
    ],
    sql: (s) => `UPDATE ${s}.line SET qty = qty + 1`,
    rows: [],
  },
];

describe.each(adapters.list)('migration revert on partition and inheritance shapes ($name)', (adapter) => {
  let db: Database;
  let schemas = 0;
  beforeAll(async () => {
    db = await adapter.open();
  }, 60_000);

  const fresh = async (setup: (s: string) => string[]) => {
    const schema = `shape_${++schemas}`;
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.query(`CREATE SCHEMA ${schema}`);
    for (const sql of setup(schema)) await db.query(sql);
    return schema;
  };
  const rowsOf = async (schema: string, table: string) =>
    (await db.query(`SELECT to_jsonb(t) AS row FROM ONLY ${schema}.${table} t ORDER BY 1::text`)).rows
      .map((r) => JSON.stringify(r.row))
      .sort();
  const start = (input: MigrationInput, agents = template.agents(db)) =>
    testEngine({ agents }).start(migration, input);

  it.each(REVERTED)('reverts $name', async (shape) => {
    const schema = await fresh(shape.setup);
    const before = await takeSnapshot(db, schema);
    const rows = await Promise.all(shape.rows.map((t) => rowsOf(schema, t)));
    const base = shape.live ? migrationAgents(db, { dryRun: 'live' }) : template.agents(db);
    // A table nobody planned appears after the apply: the verification fails and the revert runs.
    const apply: AgentFunction = async (input, ctx) => {
      const output = await (base['migration-apply'] as AgentFunction)(input, ctx);
      await db.query(`CREATE TABLE ${schema}.intruder (x int)`);
      return output;
    };
    const run = start(
      { schema, approvedBy: 'ann', sql: shape.sql(schema) },
      { ...base, 'migration-apply': apply },
    );
    const error = (await run.result.catch((e: unknown) => e)) as {
      stepPath?: string;
      compensationErrors?: unknown;
    };
    expect(error.compensationErrors, JSON.stringify(error.compensationErrors)).toBeUndefined();
    expect(error.stepPath, String((error as { cause?: unknown }).cause)).toBe('verify');
    expect(run.status).toBe('compensated');
    await db.query(`DROP TABLE ${schema}.intruder`);
    expect(compareSnapshots(before, await takeSnapshot(db, schema))).toEqual([]);
    expect(await Promise.all(shape.rows.map((t) => rowsOf(schema, t)))).toEqual(rows);
    await shape.then?.(db, schema);
  });

  // Found by review: a trigger's writes and a view's tables are neither checked nor backed up.
  it('asks for an approval before a write that runs triggers or rules, and refuses writes through a view', async () => {
    const schema = await fresh((s) => [
      `CREATE TABLE ${s}.stock (id int PRIMARY KEY, n int)`,
      `CREATE TABLE ${s}.sale (id int PRIMARY KEY, qty int)`,
      `CREATE FUNCTION ${s}.take() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM ${s}.stock; RETURN NEW; END $$`,
      `CREATE TRIGGER take AFTER INSERT ON ${s}.sale FOR EACH ROW EXECUTE FUNCTION ${s}.take()`,
      `INSERT INTO ${s}.stock VALUES (1, 10)`,
      `CREATE VIEW ${s}.stock_v AS SELECT * FROM ${s}.stock`,
    ]);
    const run = start({ schema, sql: `INSERT INTO ${schema}.sale VALUES (1, 1)` });
    await expect.poll(() => run.status, { timeout: 20_000 }).toBe('waiting');
    run.cancel('test');
    await run.result.catch(() => {});
    expect((await db.query(`SELECT n FROM ${schema}.stock`)).rows).toEqual([{ n: 10 }]);
    const viaView = start({ schema, approvedBy: 'ann', sql: `DELETE FROM ${schema}.stock_v WHERE id = 1` });
    const error = (await viaView.result.catch((e: unknown) => e)) as { stepPath?: string; cause?: unknown };
    expect(error.stepPath).toBe('lint');
    expect(String(error.cause)).toMatch(/stock_v is a view/);
  });

  // Found by review: rows of another schema deleted through a foreign key's ON DELETE CASCADE, with no approval, and
  // a revert that said compensated without them.
  it('asks for an approval before a write whose foreign key actions reach another schema, naming its table', async () => {
    const schema = await fresh((s) => [
      `CREATE TABLE ${s}.purchase (id int PRIMARY KEY)`,
      `INSERT INTO ${s}.purchase VALUES (1), (2)`,
      `DROP SCHEMA IF EXISTS ${s}_o CASCADE`,
      `CREATE SCHEMA ${s}_o`,
      `CREATE TABLE ${s}_o.audit (id int PRIMARY KEY, purchase_id int REFERENCES ${s}.purchase ON DELETE CASCADE)`,
      `INSERT INTO ${s}_o.audit VALUES (1, 1), (2, 2)`,
    ]);
    // An insert reaches nothing: it goes through; a delete would cascade into the other schema: it waits.
    expect((await start({ schema, sql: `INSERT INTO ${schema}.purchase VALUES (3)` }).result).status).toBe(
      'applied',
    );
    const run = start({ schema, sql: `DELETE FROM ${schema}.purchase WHERE id = 2` });
    await expect.poll(() => run.status, { timeout: 20_000 }).toBe('waiting');
    expect((await db.query(`SELECT count(*)::int AS n FROM ${schema}_o.audit`)).rows).toEqual([{ n: 2 }]);
    run.resolveEscalation('approval', { action: 'skip', value: { approved: true, by: 'ann' } });
    const report = await run.result;
    expect(report.findings.find((f) => f.rule === 'cascades-other-schema')).toMatchObject({
      severity: 'danger',
      message: expect.stringContaining(
        `${schema}_o.audit (another schema) change through its foreign key to purchase`,
      ),
    });
    await db.query(`DROP SCHEMA ${schema}_o CASCADE`);
  });

  // Found by review: the dry run said "not reversible" and the apply went on without anyone having approved it.
  it('applies a migration the dry run could not revert only with an approval', async () => {
    const schema = await fresh((s) => [`CREATE TABLE ${s}.t (id int PRIMARY KEY, v text)`]);
    const base = template.agents(db);
    // A dry run that finds the migration irreversible (as with a rename reusing its old name).
    const dryRun: AgentFunction = async (input, ctx) => ({
      ...((await (base['migration-dry-run'] as AgentFunction)(input, ctx)) as object),
      reversible: false,
      revertProblem: 'relation "t" already exists',
    });
    const agents = { ...base, 'migration-dry-run': dryRun };
    const refused = start({ schema, sql: `ALTER TABLE ${schema}.t ADD COLUMN note text` }, agents);
    const error = (await refused.result.catch((e: unknown) => e)) as { stepPath?: string; cause?: unknown };
    expect(error.stepPath).toBe('apply');
    expect(String(error.cause)).toMatch(/could not revert.*relation "t" already exists.*approvedBy/);
    expect(
      (
        await db.query(
          `SELECT 1 FROM information_schema.columns WHERE table_schema = '${schema}' AND column_name = 'note'`,
        )
      ).rows,
    ).toEqual([]);
    const approved = await start(
      { schema, approvedBy: 'ann', sql: `ALTER TABLE ${schema}.t ADD COLUMN note text` },
      agents,
    ).result;
    expect(approved.status).toBe('applied');
  });

  it.each(APPLIED)('applies $name', async (shape) => {
    const schema = await fresh(shape.setup);
    const report = await start({ schema, approvedBy: 'ann', sql: shape.sql(schema) }).result;
    expect(report).toMatchObject({ status: 'applied', dryRun: { reversible: true } });
  });
});
