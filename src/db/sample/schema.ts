/**
 * The sample e-commerce schema. Statements are unqualified: `seedSample` runs them with `search_path` set to
 * the target schema. The planted defects are marked `PLANTED` and listed as data in `problems.ts`.
 */

/** Tables, types and views, in dependency order; dropped in reverse by `replace`. */
export const SAMPLE_OBJECTS = {
  tables: ['categories', 'customers', 'products', 'orders', 'order_items', 'product_reviews', 'audit_log'],
  views: ['order_summaries'],
  types: ['order_status'],
} as const;

/** Run before the data is loaded. */
export const CREATE_STATEMENTS: readonly string[] = [
  `CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled')`,
  `CREATE TABLE categories (
    id integer PRIMARY KEY,
    name text NOT NULL UNIQUE
  )`,
  // PLANTED: email is nullable; a NOT VALID check (added after the load) says it must not be.
  `CREATE TABLE customers (
    id integer PRIMARY KEY,
    email text UNIQUE,
    full_name text NOT NULL,
    country char(2) NOT NULL,
    tier text NOT NULL DEFAULT 'bronze',
    created_at timestamptz NOT NULL
  )`,
  // PLANTED: category_id is a nullable foreign key (products without a category exist).
  `CREATE TABLE products (
    id integer PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    category_id integer REFERENCES categories (id),
    price numeric(10, 2) NOT NULL CHECK (price >= 0),
    stock integer NOT NULL
  )`,
  'CREATE INDEX products_category_id_idx ON products (category_id)',
  // PLANTED: no index on customer_id, a foreign key that SAMPLE_SLOW_QUERY filters on.
  `CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    status order_status NOT NULL,
    total numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    shipped_at timestamptz
  )`,
  `CREATE TABLE order_items (
    id integer PRIMARY KEY,
    order_id integer NOT NULL REFERENCES orders (id),
    product_id integer NOT NULL REFERENCES products (id),
    quantity integer NOT NULL,
    unit_price numeric(10, 2) NOT NULL CHECK (unit_price >= 0)
  )`,
  'CREATE INDEX order_items_order_id_idx ON order_items (order_id)',
  'CREATE INDEX order_items_product_id_idx ON order_items (product_id)',
  // PLANTED: the same index again under another name.
  'CREATE INDEX idx_order_items_product ON order_items (product_id)',
  // PLANTED: "customerId" breaks the snake_case naming of every other column. The product foreign key is added
  // NOT VALID after the load, because some reviews point at products that no longer exist.
  `CREATE TABLE product_reviews (
    id integer PRIMARY KEY,
    product_id integer NOT NULL,
    "customerId" integer NOT NULL REFERENCES customers (id),
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body text
  )`,
  'CREATE INDEX product_reviews_product_id_idx ON product_reviews (product_id)',
  'CREATE INDEX product_reviews_customer_id_idx ON product_reviews ("customerId")',
  // PLANTED: no primary key.
  `CREATE TABLE audit_log (
    occurred_at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id integer
  )`,
  // What an order's items add up to, beside its stored total: the business rule the data validation checks.
  `CREATE VIEW order_summaries AS
    SELECT o.id AS order_id, o.total, COALESCE(sum(i.quantity * i.unit_price), 0)::numeric(12, 2) AS items_total,
           count(i.id)::integer AS item_count,
           (o.total - COALESCE(sum(i.quantity * i.unit_price), 0))::float8 AS difference
    FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
    GROUP BY o.id, o.total`,
];

/**
 * Run after the load. NOT VALID constraints hold for new rows but leave the rows already there unchecked: this is
 * how a real database ends up with data that breaks its own rules, and what the data validation must find.
 */
export const CONSTRAINT_STATEMENTS: readonly string[] = [
  'ALTER TABLE customers ADD CONSTRAINT customers_email_present CHECK (email IS NOT NULL) NOT VALID',
  `ALTER TABLE customers ADD CONSTRAINT customers_tier_check CHECK (tier IN ('bronze', 'silver', 'gold')) NOT VALID`,
  'ALTER TABLE products ADD CONSTRAINT products_stock_nonnegative CHECK (stock >= 0) NOT VALID',
  'ALTER TABLE order_items ADD CONSTRAINT order_items_quantity_positive CHECK (quantity > 0) NOT VALID',
  `ALTER TABLE product_reviews ADD CONSTRAINT product_reviews_product_id_fkey
     FOREIGN KEY (product_id) REFERENCES products (id) NOT VALID`,
];
