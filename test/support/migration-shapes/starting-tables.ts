/** The starting tables that several shapes share, each made in the schema `s`. */

/** `vehicle` and its inheritance child `truck`. */
export const VEHICLES = (s: string) => [
  `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text)`,
  `CREATE TABLE ${s}.truck (load int) INHERITS (${s}.vehicle)`,
  `INSERT INTO ${s}.vehicle VALUES ('V1', 'a'), ('V2', 'b')`,
  `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
];
/** `ev`, partitioned by range, two partitions. */
export const EVENTS = (s: string) => [
  `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, note text, n int) PARTITION BY RANGE (at)`,
  `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
  `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
  `INSERT INTO ${s}.ev SELECT g, DATE '2024-06-01' + g, 'n' || g, g FROM generate_series(1, 400) g`,
];
/**
 * `payment` as pagila has it: partitioned by month, with indexes of its own (one named with " ON " in it, one partial)
 * and one of a partition's.
 */
export const PAYMENTS = (s: string) => [
  `CREATE TABLE ${s}.payment (payment_id int NOT NULL, customer_id int NOT NULL, amount numeric(5,2),
     payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id)) PARTITION BY RANGE (payment_date)`,
  `CREATE TABLE ${s}.payment_p2022_01 PARTITION OF ${s}.payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')`,
  `CREATE TABLE ${s}.payment_p2022_02 PARTITION OF ${s}.payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01')`,
  `CREATE INDEX idx_fk_payment_customer_id ON ${s}.payment (customer_id)`,
  `CREATE INDEX "payment ON amount" ON ${s}.payment (amount) WHERE amount > 0`,
  `CREATE INDEX payment_p2022_01_amount ON ${s}.payment_p2022_01 (amount, customer_id)`,
  `INSERT INTO ${s}.payment SELECT g, g % 7, g / 10.0, TIMESTAMPTZ '2022-01-01' + g * INTERVAL '1 hour'
     FROM generate_series(1, 1000) g`,
];
/** `orders`, referenced by `items` (ON DELETE CASCADE, and `lines` by items, CASCADE) and `notes` (SET NULL). */
export const ORDERS = (s: string) => [
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
export const SHOP = (s: string) => [
  `CREATE TABLE ${s}.purchase (id int PRIMARY KEY, note text)`,
  `CREATE TABLE ${s}.line (id int PRIMARY KEY, order_id int NOT NULL REFERENCES ${s}.purchase, qty int)`,
  `INSERT INTO ${s}.purchase VALUES (1, 'a'), (2, 'b')`,
  `INSERT INTO ${s}.line VALUES (10, 1, 1), (11, 2, 2), (12, 2, 3)`,
];
/** `ev` by range, `ev_2024` by list in turn, with rows in every leaf. */
export const TREE = (s: string) => [
  `CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL, kind text NOT NULL) PARTITION BY RANGE (at)`,
  `CREATE TABLE ${s}.ev_2024 PARTITION OF ${s}.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (kind)`,
  `CREATE TABLE ${s}.ev_2024_a PARTITION OF ${s}.ev_2024 FOR VALUES IN ('a')`,
  `CREATE TABLE ${s}.ev_2024_b PARTITION OF ${s}.ev_2024 FOR VALUES IN ('b')`,
  `CREATE TABLE ${s}.ev_2025 PARTITION OF ${s}.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
  `INSERT INTO ${s}.ev SELECT g, DATE '2024-03-01' + g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 500) g`,
];
/** `vehicle` ← `truck` ← `bigtruck`, the children without keys. */
export const GENERATIONS = (s: string) => [
  `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text DEFAULT 'p')`,
  `CREATE TABLE ${s}.truck (load int) INHERITS (${s}.vehicle)`,
  `CREATE TABLE ${s}.bigtruck (axles int) INHERITS (${s}.truck)`,
  `INSERT INTO ${s}.vehicle VALUES ('V1', 'a')`,
  `INSERT INTO ${s}.truck VALUES ('T1', 'b', 3), ('T1', 'b', 3)`,
  `INSERT INTO ${s}.bigtruck VALUES ('B1', 'c', 9, 6)`,
];
