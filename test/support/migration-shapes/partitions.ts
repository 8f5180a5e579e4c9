/**
 * Shapes on partitioned tables: a parent's defaults, NOT NULLs, keys and indexes with partitions that have their
 * own, partitions made and dropped (partitioned ones too), and rows updated through the parent.
 */
import type { ShapeGroup } from './shape.js';
import { EVENTS, PAYMENTS, TREE } from './starting-tables.js';

export const PARTITIONS: ShapeGroup = {
  reverted: [
    {
      name: "a partitioned table's default, with a partition that had it already",
      setup: (s) => [...EVENTS(s), `ALTER TABLE ${s}.ev_2024 ALTER COLUMN n SET DEFAULT 9`],
      sql: (s) => `ALTER TABLE ${s}.ev ALTER COLUMN n SET DEFAULT 9`,
      rows: ['ev'],
    },
    {
      name: "a partitioned table's NOT NULL, with a partition that had it already",
      setup: (s) => [...EVENTS(s), `ALTER TABLE ${s}.ev_2024 ALTER COLUMN n SET NOT NULL`],
      sql: (s) => `ALTER TABLE ${s}.ev ALTER COLUMN n SET NOT NULL`,
      rows: ['ev'],
    },
    {
      name: 'a partitioned table without partitions dropped',
      setup: (s) => [`CREATE TABLE ${s}.ev (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)`],
      sql: (s) => `DROP TABLE ${s}.ev`,
      rows: [],
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
      name: "rows updated through a parent into a partition's NOT VALID check",
      setup: (s) => [
        ...EVENTS(s),
        `ALTER TABLE ${s}.ev_2024 ADD CONSTRAINT big_n CHECK (n > 1000) NOT VALID`,
      ],
      sql: (s) => `UPDATE ${s}.ev SET n = n + 1000 WHERE id < 10`,
      rows: ['ev_2024', 'ev_2025'],
    },
    {
      name: "public: a partitioned table's new index",
      schema: 'public',
      setup: PAYMENTS,
      sql: (s) => `CREATE INDEX payment_amount_date ON ${s}.payment (amount, payment_date)`,
      rows: ['payment'],
    },
  ],
  applied: [
    // Every migration on a schema with an index on a partitioned table (`ON ONLY`) failed its verification in public.
    {
      name: "public: a partitioned table's new index",
      schema: 'public',
      setup: PAYMENTS,
      sql: (s) => `CREATE INDEX payment_amount_date ON ${s}.payment (amount, payment_date)`,
      rows: [],
    },
    {
      name: "public: a partitioned table's new column",
      schema: 'public',
      setup: PAYMENTS,
      sql: (s) => `ALTER TABLE ${s}.payment ADD COLUMN note text`,
      rows: [],
    },
    {
      name: "pagila's payment: a new index",
      setup: PAYMENTS,
      sql: (s) => `CREATE INDEX payment_amount_date ON ${s}.payment (amount, payment_date)`,
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
  ],
};
