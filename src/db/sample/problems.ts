/**
 * The defects planted in the sample database, as data: tests check that each template finds the ones it owns,
 * and the showcase can say what it expected to see. Counts do not depend on the seed or the scale.
 */

/** How many rows of each kind break a rule (the generator plants exactly these). */
export const PLANTED_COUNTS = {
  customersWithoutEmail: 3,
  customersWithUnknownTier: 5,
  productsWithNegativeStock: 6,
  productsWithoutCategory: 10,
  itemsWithNonPositiveQuantity: 7,
  ordersWithWrongTotal: 12,
  reviewsOfMissingProducts: 4,
} as const;

/** The template expected to find a planted problem. */
export type PlantedTemplate = 'schema-analysis' | 'data-validation' | 'optimization';

/** One planted defect of the sample database. */
export interface PlantedProblem {
  /** A stable id, such as `missing-fk-index:orders.customer_id`. */
  readonly id: string;
  /** The finding kind a template reports for it (the `kind` of a finding or a violation). */
  readonly kind:
    | 'missing-fk-index'
    | 'duplicate-index'
    | 'missing-primary-key'
    | 'nullable-foreign-key'
    | 'naming'
    | 'not-null'
    | 'enum'
    | 'range'
    | 'foreign-key'
    | 'user-rule'
    | 'slow-query';
  readonly table: string;
  /** The column, the index or the rule name the problem is about, when there is one. */
  readonly target?: string;
  /** Rows that break the rule, for data problems. */
  readonly rows?: number;
  readonly foundBy: PlantedTemplate;
  readonly description: string;
}

/** Every planted defect. */
export const PLANTED_PROBLEMS: readonly PlantedProblem[] = [
  {
    id: 'missing-fk-index:orders.customer_id',
    kind: 'missing-fk-index',
    table: 'orders',
    target: 'customer_id',
    foundBy: 'schema-analysis',
    description:
      'The foreign key orders.customer_id has no index (joins and deletes of customers scan orders)',
  },
  {
    id: 'duplicate-index:order_items.idx_order_items_product',
    kind: 'duplicate-index',
    table: 'order_items',
    target: 'idx_order_items_product',
    foundBy: 'schema-analysis',
    description: 'idx_order_items_product duplicates order_items_product_id_idx (both on product_id)',
  },
  {
    id: 'missing-primary-key:audit_log',
    kind: 'missing-primary-key',
    table: 'audit_log',
    foundBy: 'schema-analysis',
    description: 'audit_log has no primary key',
  },
  {
    id: 'nullable-foreign-key:products.category_id',
    kind: 'nullable-foreign-key',
    table: 'products',
    target: 'category_id',
    foundBy: 'schema-analysis',
    description: `products.category_id is a nullable foreign key (${PLANTED_COUNTS.productsWithoutCategory} products have none)`,
  },
  {
    id: 'naming:product_reviews.customerId',
    kind: 'naming',
    table: 'product_reviews',
    target: 'customerId',
    foundBy: 'schema-analysis',
    description: 'product_reviews."customerId" is camelCase where every other column is snake_case',
  },
  {
    id: 'not-null:customers.email',
    kind: 'not-null',
    table: 'customers',
    target: 'customers_email_present',
    rows: PLANTED_COUNTS.customersWithoutEmail,
    foundBy: 'data-validation',
    description: 'Customers without an email, which the (NOT VALID) check customers_email_present forbids',
  },
  {
    id: 'enum:customers.tier',
    kind: 'enum',
    table: 'customers',
    target: 'customers_tier_check',
    rows: PLANTED_COUNTS.customersWithUnknownTier,
    foundBy: 'data-validation',
    description: "Customers with tier 'platinum', outside the allowed bronze, silver, gold",
  },
  {
    id: 'range:products.stock',
    kind: 'range',
    table: 'products',
    target: 'products_stock_nonnegative',
    rows: PLANTED_COUNTS.productsWithNegativeStock,
    foundBy: 'data-validation',
    description: 'Products with a negative stock',
  },
  {
    id: 'range:order_items.quantity',
    kind: 'range',
    table: 'order_items',
    target: 'order_items_quantity_positive',
    rows: PLANTED_COUNTS.itemsWithNonPositiveQuantity,
    foundBy: 'data-validation',
    description: 'Order items with a zero or negative quantity',
  },
  {
    id: 'foreign-key:product_reviews.product_id',
    kind: 'foreign-key',
    table: 'product_reviews',
    target: 'product_reviews_product_id_fkey',
    rows: PLANTED_COUNTS.reviewsOfMissingProducts,
    foundBy: 'data-validation',
    description: 'Reviews of products that do not exist (the foreign key was added NOT VALID)',
  },
  {
    id: 'user-rule:order_summaries.total',
    kind: 'user-rule',
    table: 'order_summaries',
    target: 'order total equals the sum of its items',
    rows: PLANTED_COUNTS.ordersWithWrongTotal,
    foundBy: 'data-validation',
    description:
      'Orders whose total differs from the sum of their items (a user rule on the order_summaries view)',
  },
  {
    id: 'slow-query:orders.customer_id',
    kind: 'slow-query',
    table: 'orders',
    target: 'customer_id',
    foundBy: 'optimization',
    description:
      "A customer's latest orders scan the whole orders table; an index on orders (customer_id) fixes it",
  },
];

/**
 * The slow query planted in the sample: a customer's latest orders. Without an index on `orders.customer_id`
 * it is a sequential scan of every order; `fix` makes it an index scan. Tables are unqualified (the sample's
 * schema must be on the `search_path`, as `public` is by default).
 */
/**
 * The sample's own migration: fixes three planted problems (duplicate index, missing primary key, camelCase column)
 * without touching what the optimization measures. The showcase and the sample's tests pass it explicitly; the
 * migration template's default input never does.
 */
export const SAMPLE_MIGRATION = [
  'DROP INDEX CONCURRENTLY idx_order_items_product;',
  'ALTER TABLE audit_log ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;',
  'ALTER TABLE product_reviews RENAME COLUMN "customerId" TO customer_id;',
].join('\n');

export const SAMPLE_SLOW_QUERY = {
  sql: 'SELECT id, status, total, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20',
  params: [42] as readonly unknown[],
  fix: 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)',
  table: 'orders',
  columns: ['customer_id'] as readonly string[],
} as const;
