/**
 * Shapes whose rows a key or a constraint ties: foreign key actions (CASCADE, SET NULL), rows put back in the
 * order their keys need, keys to and between tables of several partitions, unique values and exclusion ranges
 * swapped, and NOT VALID checks and keys that old rows break.
 */
import type { ShapeGroup } from './shape.js';
import { ORDERS, SHOP } from './starting-tables.js';

export const KEYS_AND_CONSTRAINTS: ShapeGroup = {
  reverted: [
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
      name: 'rows deleted from a table whose NOT VALID check old rows break',
      setup: (s) => [
        `CREATE TABLE ${s}.t (id int PRIMARY KEY, n int)`,
        `INSERT INTO ${s}.t SELECT g, g - 3 FROM generate_series(1, 10) g`,
        `ALTER TABLE ${s}.t ADD CONSTRAINT t_positive CHECK (n > 0) NOT VALID`,
      ],
      sql: (s) => `DELETE FROM ${s}.t WHERE id < 3`,
      rows: ['t'],
    },
    // Found by review: rows were put back table by table in statement order.
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
    // Found by a review of the restore: a key of one name with another in the schema; a tree's key to itself; a table
    // without a primary key emptied under ON DELETE CASCADE.
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
      sql: (s) =>
        `INSERT INTO ${s}.cat VALUES (10, 1, 'new'); UPDATE ${s}.cat SET parent_id = 10 WHERE id = 2`,
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
  ],
  applied: [
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
  ],
};
