/**
 * Databases of other shapes than our sample, for the templates' "any database" tests: a music store in the spirit
 * of Chinook, kept in its own schema (`music`, no `public` tables), with PascalCase quoted names, no foreign keys
 * declared, a varchar key, a composite key, a partitioned table, an enum and a view. Its data defects are
 * planted and listed in {@link MUSIC_PLANTED}; its schema defects are an integer key near overflow, money in
 * `real` and `timestamp` without time zone (InvoiceDate, as in Chinook).
 */
import type { Database } from '../../src/db/port.js';

/** A defect planted in the music schema that the data validation must find, with the rows it affects. */
export interface PlantedDefect {
  readonly kind: 'non-negative' | 'orphan' | 'not-future';
  readonly table: string;
  readonly column: string;
  readonly rows: number;
}

/** Every defect of {@link seedMusic}. */
export const MUSIC_PLANTED: readonly PlantedDefect[] = [
  { kind: 'non-negative', table: 'Invoice', column: 'Total', rows: 3 },
  { kind: 'not-future', table: 'Invoice', column: 'InvoiceDate', rows: 1 },
  { kind: 'orphan', table: 'InvoiceLine', column: 'TrackId', rows: 2 },
  { kind: 'non-negative', table: 'Payment', column: 'Amount', rows: 2 },
];

/** The music store's DDL and data. */
export const MUSIC_STATEMENTS: readonly string[] = [
  'CREATE SCHEMA music',
  'SET search_path = music',
  `CREATE TYPE "Rating" AS ENUM ('G', 'PG', 'R')`,
  `CREATE TABLE "Genre" ("GenreId" varchar(10) PRIMARY KEY, "Name" varchar(120) NOT NULL)`,
  `CREATE TABLE "Artist" ("ArtistId" integer PRIMARY KEY, "Name" varchar(120))`,
  `CREATE TABLE "Album" ("AlbumId" integer PRIMARY KEY, "Title" varchar(160) NOT NULL, "ArtistId" integer NOT NULL)`,
  `CREATE TABLE "Track" ("TrackId" integer PRIMARY KEY, "Name" varchar(200) NOT NULL, "AlbumId" integer,
     "GenreId" varchar(10), "Milliseconds" integer NOT NULL, "UnitPrice" numeric(10, 2) NOT NULL, "Rating" "Rating")`,
  // Chinook names its indexes its own way: consistent, so not naming drift.
  'CREATE INDEX "IFK_TrackGenreId" ON "Track" ("GenreId")',
  'CREATE INDEX "IFK_TrackAlbumId" ON "Track" ("AlbumId")',
  `CREATE TABLE "Customer" ("CustomerId" integer PRIMARY KEY, "FirstName" varchar(40) NOT NULL,
     "LastName" varchar(40) NOT NULL, "Country" varchar(40), "Email" varchar(60) NOT NULL)`,
  `CREATE TABLE "Invoice" ("InvoiceId" integer PRIMARY KEY, "CustomerId" integer NOT NULL,
     "InvoiceDate" timestamp NOT NULL, "BillingCountry" varchar(40), "Total" numeric(10, 2) NOT NULL)`,
  `CREATE TABLE "InvoiceLine" ("InvoiceLineId" integer PRIMARY KEY, "InvoiceId" integer NOT NULL,
     "TrackId" integer NOT NULL, "UnitPrice" numeric(10, 2) NOT NULL, "Quantity" integer NOT NULL)`,
  `CREATE TABLE "Playlist" ("PlaylistId" integer PRIMARY KEY, "Name" varchar(120))`,
  `CREATE TABLE "PlaylistTrack" ("PlaylistId" integer NOT NULL, "TrackId" integer NOT NULL,
     PRIMARY KEY ("PlaylistId", "TrackId"))`,
  `CREATE TABLE "Payment" ("PaymentId" integer NOT NULL, "CustomerId" integer NOT NULL, "Amount" numeric(8, 2) NOT NULL,
     "PaidAt" timestamptz NOT NULL, PRIMARY KEY ("PaymentId", "PaidAt")) PARTITION BY RANGE ("PaidAt")`,
  `CREATE TABLE "Payment_2021" PARTITION OF "Payment" FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')`,
  `CREATE TABLE "Payment_2022" PARTITION OF "Payment" FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')`,
  // "Fee" is money in binary floating point (schema analysis reports it); never filled.
  `CREATE TABLE "Adjustment" ("AdjustmentId" integer PRIMARY KEY, "Amount" numeric(8, 2) NOT NULL, "Fee" real)`,
  // An integer key whose sequence has used 93% of the integer range (schema analysis reports it); no rows.
  `CREATE TABLE "Ticket" ("TicketId" serial PRIMARY KEY, "CreatedAt" timestamptz NOT NULL DEFAULT now())`,
  `SELECT setval(pg_get_serial_sequence('"Ticket"', 'TicketId'), 2000000000)`,
  `CREATE VIEW "InvoiceTotals" AS SELECT i."InvoiceId", sum(l."UnitPrice" * l."Quantity") AS "LinesTotal"
     FROM "Invoice" i JOIN "InvoiceLine" l USING ("InvoiceId") GROUP BY i."InvoiceId"`,
  `INSERT INTO "Genre" VALUES ('ROCK', 'Rock'), ('JAZZ', 'Jazz'), ('METAL', 'Metal'), ('BLUES', 'Blues'), ('LATIN', 'Latin')`,
  `INSERT INTO "Artist" SELECT g, 'Artist ' || g FROM generate_series(1, 20) g`,
  `INSERT INTO "Album" SELECT g, 'Album ' || g, (g % 20) + 1 FROM generate_series(1, 40) g`,
  // Genre by track id: ROCK 40 tracks, JAZZ 20, METAL 20, BLUES 12, LATIN 8 (a golden set counts on these).
  `INSERT INTO "Track" SELECT g, 'Track ' || g, (g % 40) + 1,
     CASE WHEN g <= 40 THEN 'ROCK' WHEN g <= 60 THEN 'JAZZ' WHEN g <= 80 THEN 'METAL' WHEN g <= 92 THEN 'BLUES' ELSE 'LATIN' END,
     180000 + g * 1000, 0.99 + (g % 2), (ARRAY['G', 'PG', 'R']::"Rating"[])[g % 3 + 1] FROM generate_series(1, 100) g`,
  `INSERT INTO "Customer" SELECT g, 'First' || g, 'Last' || g, (ARRAY['USA', 'Canada', 'France', 'Brazil'])[g % 4 + 1],
     'c' || g || '@mail.test' FROM generate_series(1, 50) g`,
  // Invoices from 2021-01-01, one every 3 days; invoice 7 is in the future; 3 totals are negative.
  `INSERT INTO "Invoice" SELECT g, (g % 50) + 1,
     CASE WHEN g = 7 THEN now()::timestamp + interval '30 days' ELSE timestamp '2021-01-01' + (g * 3) * interval '1 day' END,
     (ARRAY['USA', 'Canada', 'France', 'Brazil'])[((g % 50) + 1) % 4 + 1],
     CASE WHEN g IN (10, 20, 30) THEN -5.94 ELSE 1.98 * (g % 5 + 1) END FROM generate_series(1, 200) g`,
  // Three lines per invoice; two lines name tracks that do not exist; one quantity is absurd (an outlier).
  `INSERT INTO "InvoiceLine" SELECT g, (g - 1) / 3 + 1, CASE WHEN g IN (5, 9) THEN 9000 + g ELSE (g % 100) + 1 END,
     0.99, CASE WHEN g = 100 THEN 500 ELSE g % 2 + 1 END FROM generate_series(1, 600) g`,
  `INSERT INTO "Playlist" SELECT g, 'Playlist ' || g FROM generate_series(1, 5) g`,
  `INSERT INTO "PlaylistTrack" SELECT p, t FROM generate_series(1, 5) p, generate_series(1, 100) t WHERE (p + t) % 3 = 0`,
  `INSERT INTO "Payment" SELECT g, (g % 50) + 1, CASE WHEN g IN (50, 150) THEN -3.00 ELSE 4.99 END,
     timestamptz '2021-01-01' + g * interval '3 days' FROM generate_series(1, 200) g`,
  // Adjustments are negative a third of the time: a negative amount is normal here, so no rule is proposed.
  `INSERT INTO "Adjustment" SELECT g, CASE WHEN g % 3 = 0 THEN -2.50 ELSE 2.50 END, NULL FROM generate_series(1, 60) g`,
  'ANALYZE',
  'SET search_path = public',
];

/** Creates the music store in `db` (which must not have a `music` schema yet). */
export async function seedMusic(db: Database): Promise<void> {
  for (const sql of MUSIC_STATEMENTS) await db.query(sql);
}

/**
 * A DVD rental in the spirit of Pagila, in `public`: foreign keys declared, `payment` partitioned by month with
 * indexes on each partition (none on the parent), an enum, a domain, `text[]`, `tsvector` with a GiST index,
 * `bytea`, a materialized view and a view, an `infinity` timestamp and a NaN numeric. The templates must run
 * through every type and value and report only what is true (the foreign keys of `rental` and `film` have no
 * index; a last update at `infinity` is in the future).
 */
export const RENTAL_STATEMENTS: readonly string[] = [
  'CREATE DOMAIN year AS integer CHECK (VALUE >= 1901 AND VALUE <= 2155)',
  `CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17')`,
  `CREATE TABLE language (language_id serial PRIMARY KEY, name character(20) NOT NULL,
     last_update timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE film (film_id serial PRIMARY KEY, title text NOT NULL, description text, release_year year,
     language_id integer NOT NULL REFERENCES language, rental_rate numeric(4, 2) NOT NULL DEFAULT 4.99,
     length smallint, rating mpaa_rating DEFAULT 'G', special_features text[], fulltext tsvector NOT NULL,
     last_update timestamptz NOT NULL DEFAULT now())`,
  'CREATE INDEX film_fulltext_idx ON film USING gist (fulltext)',
  `CREATE TABLE customer (customer_id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL,
     email text, activebool boolean NOT NULL DEFAULT true, create_date date NOT NULL DEFAULT CURRENT_DATE,
     last_update timestamptz DEFAULT now(), active integer)`,
  'CREATE TABLE staff (staff_id serial PRIMARY KEY, first_name text NOT NULL, picture bytea)',
  `CREATE TABLE rental (rental_id serial PRIMARY KEY, rental_date timestamptz NOT NULL, inventory_id integer NOT NULL,
     customer_id integer NOT NULL REFERENCES customer, return_date timestamptz,
     staff_id integer NOT NULL REFERENCES staff, last_update timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE payment (payment_id serial NOT NULL, customer_id integer NOT NULL REFERENCES customer,
     staff_id integer NOT NULL REFERENCES staff, rental_id integer NOT NULL REFERENCES rental,
     amount numeric(5, 2) NOT NULL, payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id))
     PARTITION BY RANGE (payment_date)`,
  `CREATE TABLE payment_p2022_01 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')`,
  `CREATE TABLE payment_p2022_02 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01')`,
  ...['payment_p2022_01', 'payment_p2022_02'].flatMap((p) =>
    ['customer_id', 'staff_id', 'rental_id'].map((c) => `CREATE INDEX ${p}_${c}_idx ON ${p} (${c})`),
  ),
  `INSERT INTO language (name) VALUES ('English'), ('Italian'), ('Japanese')`,
  `INSERT INTO film (title, release_year, language_id, rental_rate, length, rating, special_features, fulltext)
     SELECT 'Film ' || g, 2006, g % 3 + 1, (ARRAY[0.99, 2.99, 4.99])[g % 3 + 1], 60 + g % 120,
            (ARRAY['G', 'PG', 'PG-13', 'R', 'NC-17']::mpaa_rating[])[g % 5 + 1], ARRAY['Trailers'],
            to_tsvector('film ' || g) FROM generate_series(1, 100) g`,
  `INSERT INTO customer (first_name, last_name, email, create_date, active)
     SELECT 'F' || g, 'L' || g, 'c' || g || '@rental.test', DATE '2022-01-01', 1 FROM generate_series(1, 40) g`,
  `INSERT INTO staff (first_name) VALUES ('Mike'), ('Jon')`,
  // Values JSON has no number for: an open-ended date and a NaN rate must not break a profile.
  `INSERT INTO language (name, last_update) VALUES ('Klingon', 'infinity')`,
  `INSERT INTO film (title, language_id, rental_rate, fulltext) VALUES ('Film NaN', 4, 'NaN', to_tsvector('nan'))`,
  `INSERT INTO rental (rental_date, inventory_id, customer_id, return_date, staff_id)
     SELECT timestamptz '2022-01-01' + g * interval '5 hours', g % 70 + 1, g % 40 + 1,
            timestamptz '2022-01-03' + g * interval '5 hours', g % 2 + 1 FROM generate_series(1, 300) g`,
  `INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date)
     SELECT customer_id, staff_id, rental_id, (ARRAY[0.99, 2.99, 4.99])[rental_id % 3 + 1], rental_date
     FROM rental WHERE rental_date < '2022-03-01'`,
  'CREATE MATERIALIZED VIEW rentals_by_customer AS SELECT customer_id, count(*) AS rentals FROM rental GROUP BY 1',
  `CREATE VIEW customer_list AS SELECT customer_id, first_name || ' ' || last_name AS name FROM customer`,
  'ANALYZE',
];

/** Creates the DVD rental in `db`'s `public` schema. */
export async function seedRental(db: Database): Promise<void> {
  for (const sql of RENTAL_STATEMENTS) await db.query(sql);
}

/**
 * A trading company as the Northwind ports load it, in `public`: quoted names with spaces ("Order Details",
 * "Unit Price"), product codes for keys (`P1`...), money in `real`, a table named `"Orders"` and one named by a year
 * (`"Audit 2021"`, no key); beside them, in snake_case, a key-less `events` log with an `id` and a `customer_id` no
 * foreign key declares. Planted: product P7's negative "Unit Price", order 13's "Order Date" in the future.
 */
const TRADERS_STATEMENTS: readonly string[] = [
  `CREATE TABLE "Products" ("Product Code" varchar(10) PRIMARY KEY, "Product Name" text NOT NULL,
     "Category Name" text NOT NULL, "Unit Price" real NOT NULL)`,
  `CREATE TABLE "Orders" ("Order ID" integer PRIMARY KEY, "Order Date" date NOT NULL, "Ship Country" text NOT NULL)`,
  `CREATE TABLE "Order Details" ("Order ID" integer NOT NULL REFERENCES "Orders",
     "Product Code" varchar(10) NOT NULL REFERENCES "Products", "Quantity" smallint NOT NULL,
     PRIMARY KEY ("Order ID", "Product Code"))`,
  `CREATE TABLE "Audit 2021" ("Entry" text NOT NULL)`,
  'CREATE TABLE customer (id integer PRIMARY KEY, name text NOT NULL)',
  'CREATE TABLE events (id bigint NOT NULL, customer_id integer NOT NULL, kind text NOT NULL)',
  // 20 products per category; one negative price in 60 (under the 2% a proposed rule tolerates).
  `INSERT INTO "Products" SELECT 'P' || g, 'Product ' || g, (ARRAY['Beverages', 'Condiments', 'Seafood'])[g % 3 + 1],
     CASE WHEN g = 7 THEN -1 ELSE 5 + g END FROM generate_series(1, 60) g`,
  // One order every 5 days from 2020-06-01 (73 in 2021); order 13 is in the future.
  `INSERT INTO "Orders" SELECT g, CASE WHEN g = 13 THEN CURRENT_DATE + 30 ELSE DATE '2020-06-01' + g * 5 END,
     (ARRAY['Germany', 'France', 'Brazil'])[g % 3 + 1] FROM generate_series(1, 300) g`,
  `INSERT INTO "Order Details" SELECT g, 'P' || (g * 7 % 40 + 1), g % 5 + 1 FROM generate_series(1, 300) g
   UNION ALL SELECT g, 'P' || (g * 11 % 40 + 1), 1 FROM generate_series(1, 300) g WHERE g * 11 % 40 <> g * 7 % 40`,
  `INSERT INTO "Audit 2021" SELECT 'entry ' || g FROM generate_series(1, 10) g`,
  `INSERT INTO customer SELECT g, 'Customer ' || g FROM generate_series(1, 50) g`,
  `INSERT INTO events SELECT g, g % 50 + 1, (ARRAY['view', 'buy'])[g % 2 + 1] FROM generate_series(1, 5000) g`,
  'ANALYZE',
];

/** Creates the trading company in `db`'s `public` schema. */
export async function seedTraders(db: Database): Promise<void> {
  for (const sql of TRADERS_STATEMENTS) await db.query(sql);
}

/**
 * A SaaS database of several schemas, the shapes the judge's trials found trouble with: `public`, `sales` and `hr`
 * each with a `customers` table (and `orders` in two), a foreign key from `sales` to `public.products`, tables named
 * by reserved words (`"user"`, `"order"`, `"group"`) with a generated column, `jsonb` and arrays, an inheritance
 * parent with two children, a table under row-level security (`documents`, FORCE: a role sees only its own rows),
 * numbered tables in `registry` (`entity_0001` ... `entity_0003`, each referencing the one before), a 300-column `survey`, and a
 * table partitioned by range and again by list (`readings`) whose older partitions have their sensor index and the
 * others none. Nothing in it is planted; the tests say what each template must make of it.
 */
const TENANT_STATEMENTS: readonly string[] = [
  'CREATE SCHEMA sales',
  'CREATE SCHEMA hr',
  `CREATE TABLE "user" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, "group" text,
     profile jsonb NOT NULL DEFAULT '{}', tags text[] NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL,
     full_name text GENERATED ALWAYS AS ((profile->>'first') || ' ' || (profile->>'last')) STORED)`,
  'CREATE TABLE "group" (id integer PRIMARY KEY, name text NOT NULL, "limit" integer)',
  `CREATE TABLE "order" (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES "user", "select" integer,
     total numeric(12, 2) NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL)`,
  'CREATE TABLE products (product_id integer PRIMARY KEY, name text NOT NULL, price numeric(10, 2) NOT NULL)',
  'CREATE TABLE customers (customer_id integer PRIMARY KEY, display text)',
  'CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer, amount numeric(10, 2))',
  'CREATE TABLE events (id bigint NOT NULL, kind text NOT NULL, payload jsonb, at timestamptz NOT NULL)',
  `CREATE TABLE events_2023 (CHECK (at < '2024-01-01')) INHERITS (events)`,
  `CREATE TABLE events_2024 (CHECK (at >= '2024-01-01')) INHERITS (events)`,
  `CREATE TABLE documents (id integer PRIMARY KEY, owner text NOT NULL, title text NOT NULL)`,
  'ALTER TABLE documents ENABLE ROW LEVEL SECURITY',
  'ALTER TABLE documents FORCE ROW LEVEL SECURITY',
  'CREATE POLICY own_documents ON documents USING (owner = current_user)',
  'CREATE SCHEMA registry',
  'CREATE TABLE registry.entity_0001 (id integer PRIMARY KEY, name text NOT NULL)',
  `CREATE TABLE registry.entity_0002 (id integer PRIMARY KEY, entity_0001_id integer REFERENCES registry.entity_0001,
     name text NOT NULL)`,
  `CREATE TABLE registry.entity_0003 (id integer PRIMARY KEY, entity_0002_id integer REFERENCES registry.entity_0002,
     name text NOT NULL)`,
  `CREATE TABLE survey (id integer PRIMARY KEY, ${Array.from({ length: 300 }, (_, i) => `q${i + 1} smallint`).join(', ')})`,
  'CREATE TABLE sensors (sensor_id integer PRIMARY KEY, label text NOT NULL)',
  `CREATE TABLE readings (sensor_id integer REFERENCES sensors, at date NOT NULL, region integer NOT NULL,
     value integer NOT NULL) PARTITION BY RANGE (at)`,
  `CREATE TABLE readings_2023 PARTITION OF readings FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')`,
  `CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
     PARTITION BY LIST (region)`,
  'CREATE TABLE readings_2024_r1 PARTITION OF readings_2024 FOR VALUES IN (1)',
  'CREATE TABLE readings_2024_r2 PARTITION OF readings_2024 FOR VALUES IN (2)',
  // Indexed by hand on the oldest partition only, as Pagila indexes each `payment` partition.
  'CREATE INDEX readings_2023_sensor ON readings_2023 (sensor_id)',
  'CREATE TABLE sales.customers (customer_id integer PRIMARY KEY, name text NOT NULL, region text NOT NULL)',
  `CREATE TABLE sales.orders (order_id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES sales.customers,
     placed_at timestamptz NOT NULL, status text NOT NULL)`,
  `CREATE TABLE sales.order_items (order_id integer NOT NULL REFERENCES sales.orders, line smallint NOT NULL,
     product_id integer NOT NULL REFERENCES public.products, qty integer NOT NULL, PRIMARY KEY (order_id, line))`,
  `CREATE TABLE hr.employees (id integer PRIMARY KEY, manager_id integer REFERENCES hr.employees, dept text NOT NULL)`,
  'CREATE TABLE hr.customers (customer_id integer PRIMARY KEY, contact text)',
  `INSERT INTO "user" (email, "group", profile, tags, created_at) SELECT 'u' || g || '@saas.test',
     (ARRAY['admin', 'staff', 'guest'])[g % 3 + 1], jsonb_build_object('first', 'F' || g, 'last', 'L' || g),
     ARRAY['t' || (g % 5)], timestamptz '2024-01-01' + g * interval '1 hour' FROM generate_series(1, 500) g`,
  `INSERT INTO "group" SELECT g, 'Group ' || g, g * 10 FROM generate_series(1, 20) g`,
  `INSERT INTO "order" SELECT g, g % 500 + 1, g % 7, (g % 50) + 0.5, (ARRAY['new', 'paid', 'shipped'])[g % 3 + 1],
     timestamptz '2024-01-01' + g * interval '5 minutes' FROM generate_series(1, 3000) g`,
  `INSERT INTO products SELECT g, 'Product ' || g, g * 1.25 FROM generate_series(1, 100) g`,
  `INSERT INTO customers SELECT g, 'Customer ' || g FROM generate_series(1, 50) g`,
  `INSERT INTO orders SELECT g, g % 50 + 1, g * 2.5 FROM generate_series(1, 400) g`,
  `INSERT INTO events_2023 SELECT g, 'click', '{"a": 1}', timestamptz '2023-01-01' + g * interval '1 minute'
     FROM generate_series(1, 300) g`,
  `INSERT INTO events_2024 SELECT g, 'view', NULL, timestamptz '2024-01-01' + g * interval '1 minute'
     FROM generate_series(1, 300) g`,
  `INSERT INTO documents SELECT g, CASE WHEN g <= 3 THEN 'nobody_here' ELSE 'someone_else' END, 'Doc ' || g
     FROM generate_series(1, 40) g`,
  `INSERT INTO registry.entity_0001 SELECT g, 'one ' || g FROM generate_series(1, 30) g`,
  `INSERT INTO registry.entity_0002 SELECT g, g % 30 + 1, 'two ' || g FROM generate_series(1, 90) g`,
  `INSERT INTO registry.entity_0003 SELECT g, g % 90 + 1, 'three ' || g FROM generate_series(1, 60) g`,
  `INSERT INTO survey SELECT g, ${Array.from({ length: 300 }, (_, i) => `(g * ${i + 1}) % 7`).join(', ')}
     FROM generate_series(1, 200) g`,
  `INSERT INTO sensors SELECT g, 'sensor ' || g FROM generate_series(1, 400) g`,
  `INSERT INTO readings SELECT g % 400 + 1, DATE '2023-01-01' + g % 700, g % 2 + 1, g % 100
     FROM generate_series(1, 12000) g`,
  `INSERT INTO sales.customers SELECT g, 'Sales customer ' || g, (ARRAY['EMEA', 'APAC'])[g % 2 + 1]
     FROM generate_series(1, 200) g`,
  `INSERT INTO sales.orders SELECT g, g % 200 + 1, timestamptz '2024-01-01' + g * interval '1 hour',
     (ARRAY['open', 'won', 'lost'])[g % 3 + 1] FROM generate_series(1, 2000) g`,
  `INSERT INTO sales.order_items SELECT o, l, (o * l) % 100 + 1, l FROM generate_series(1, 2000) o,
     generate_series(1, 3) l`,
  `INSERT INTO hr.employees SELECT g, CASE WHEN g = 1 THEN NULL ELSE (g - 1) / 5 + 1 END,
     (ARRAY['eng', 'ops'])[g % 2 + 1] FROM generate_series(1, 100) g`,
  `INSERT INTO hr.customers SELECT g, 'contact ' || g FROM generate_series(1, 10) g`,
  'ANALYZE',
];

/** Creates the multi-schema SaaS database (`db` must not have its schemas yet). */
export async function seedTenants(db: Database): Promise<void> {
  for (const sql of TENANT_STATEMENTS) await db.query(sql);
}
