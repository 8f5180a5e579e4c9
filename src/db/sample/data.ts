/**
 * The sample's rows, made from a seeded PRNG (mulberry32) so every run, on every adapter, holds the same data.
 * Rows come out as columns (arrays), which `seedSample` inserts with one parameterized `unnest` per table.
 */
import { PLANTED_COUNTS } from './problems.js';

/** A deterministic generator of numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Columns of one table: each array holds one column's values, row by row. */
export type Columns = Record<string, unknown[]>;

/** Every table's rows, plus how each column is cast in SQL (`unnest($1::int[], ...)`). */
export interface SampleData {
  readonly tables: ReadonlyArray<{
    readonly table: string;
    readonly columns: Columns;
    readonly types: readonly string[];
  }>;
  /** Orders whose total is then set off from the sum of their items. */
  readonly wrongTotalOrders: readonly number[];
}

const CATEGORIES = [
  'Books',
  'Music',
  'Games',
  'Garden',
  'Kitchen',
  'Toys',
  'Tools',
  'Sports',
  'Office',
  'Pets',
  'Beauty',
  'Outdoor',
];
const COUNTRIES = ['FR', 'DE', 'US', 'GB', 'ES', 'IT', 'NL', 'JP', 'CA', 'BR'];
const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Edsger', 'Margaret', 'Ken', 'Radia', 'Donald'];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Liskov',
  'Dijkstra',
  'Hamilton',
  'Thompson',
  'Perlman',
  'Knuth',
];
const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'];
const TIERS = ['bronze', 'silver', 'gold'];
const ACTIONS = ['create', 'update', 'delete', 'login'];
const EPOCH = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

/** Builds every row for `scale` (1 is about 17,000 rows) from `seed`. */
export function generateSample(seed: number, scale: number): SampleData {
  const rand = mulberry32(seed);
  const int = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)] as T;
  const at = (days: number) => new Date(EPOCH + Math.floor(rand() * days * DAY)).toISOString();
  /** `count` distinct ids from 1..n, spread over the range (deterministic, no rejection loop). */
  const spread = (n: number, count: number, offset: number) =>
    Array.from({ length: count }, (_, i) => 1 + ((offset + Math.floor(((i + 0.5) * n) / count)) % n));

  const nCustomers = Math.round(800 * scale);
  const nProducts = Math.round(240 * scale);
  const nOrders = Math.round(4000 * scale);
  const nReviews = Math.round(600 * scale);

  const noEmail = new Set(spread(nCustomers, PLANTED_COUNTS.customersWithoutEmail, 7));
  const platinum = new Set(spread(nCustomers, PLANTED_COUNTS.customersWithUnknownTier, 11));
  const customers: Columns = { id: [], email: [], full_name: [], country: [], tier: [], created_at: [] };
  for (let id = 1; id <= nCustomers; id++) {
    const name = `${pick(FIRST)} ${pick(LAST)}`;
    customers.id!.push(id);
    customers.email!.push(
      noEmail.has(id) ? null : `${name.toLowerCase().replace(' ', '.')}.${id}@example.com`,
    );
    customers.full_name!.push(name);
    customers.country!.push(pick(COUNTRIES));
    customers.tier!.push(platinum.has(id) ? 'platinum' : pick(TIERS));
    customers.created_at!.push(at(365));
  }

  const negativeStock = new Set(spread(nProducts, PLANTED_COUNTS.productsWithNegativeStock, 3));
  const noCategory = new Set(spread(nProducts, PLANTED_COUNTS.productsWithoutCategory, 5));
  const products: Columns = { id: [], sku: [], name: [], category_id: [], price: [], stock: [] };
  const prices: number[] = [];
  for (let id = 1; id <= nProducts; id++) {
    const cents = int(199, 19_999);
    prices[id] = cents;
    products.id!.push(id);
    products.sku!.push(`SKU-${String(id).padStart(5, '0')}`);
    products.name!.push(`${pick(CATEGORIES)} item ${id}`);
    products.category_id!.push(noCategory.has(id) ? null : int(1, CATEGORIES.length));
    products.price!.push(cents / 100);
    products.stock!.push(negativeStock.has(id) ? -int(1, 20) : int(0, 500));
  }

  const orders: Columns = { id: [], customer_id: [], status: [], created_at: [], shipped_at: [] };
  const items: Columns = { id: [], order_id: [], product_id: [], quantity: [], unit_price: [] };
  for (let id = 1; id <= nOrders; id++) {
    const status = pick(STATUSES);
    const created = EPOCH + Math.floor(rand() * 365 * DAY);
    orders.id!.push(id);
    orders.customer_id!.push(int(1, nCustomers));
    orders.status!.push(status);
    orders.created_at!.push(new Date(created).toISOString());
    orders.shipped_at!.push(
      status === 'shipped' || status === 'delivered'
        ? new Date(created + int(1, 5) * DAY).toISOString()
        : null,
    );
    for (let k = int(1, 4); k > 0; k--) {
      const product = int(1, nProducts);
      items.id!.push(items.id!.length + 1);
      items.order_id!.push(id);
      items.product_id!.push(product);
      items.quantity!.push(int(1, 5));
      items.unit_price!.push(prices[product]! / 100);
    }
  }
  for (const row of spread(items.id!.length, PLANTED_COUNTS.itemsWithNonPositiveQuantity, 13)) {
    items.quantity![row - 1] = -int(0, 3);
  }

  const orphans = new Set(spread(nReviews, PLANTED_COUNTS.reviewsOfMissingProducts, 17));
  const reviews: Columns = { id: [], product_id: [], customerId: [], rating: [], body: [] };
  for (let id = 1; id <= nReviews; id++) {
    reviews.id!.push(id);
    // Ids past the last product: reviews of products deleted since.
    reviews.product_id!.push(orphans.has(id) ? nProducts + id : int(1, nProducts));
    reviews.customerId!.push(int(1, nCustomers));
    reviews.rating!.push(int(1, 5));
    reviews.body!.push(rand() < 0.3 ? null : `Review ${id}`);
  }

  const audit: Columns = { occurred_at: [], actor: [], action: [], entity: [], entity_id: [] };
  for (let i = 0; i < Math.round(1500 * scale); i++) {
    audit.occurred_at!.push(at(365));
    audit.actor!.push(`user${int(1, 20)}`);
    audit.action!.push(pick(ACTIONS));
    audit.entity!.push(pick(['order', 'customer', 'product']));
    audit.entity_id!.push(int(1, nOrders));
  }

  return {
    tables: [
      {
        table: 'categories',
        columns: { id: CATEGORIES.map((_, i) => i + 1), name: [...CATEGORIES] },
        types: ['int', 'text'],
      },
      {
        table: 'customers',
        columns: customers,
        types: ['int', 'text', 'text', 'text', 'text', 'timestamptz'],
      },
      { table: 'products', columns: products, types: ['int', 'text', 'text', 'int', 'numeric', 'int'] },
      {
        table: 'orders',
        columns: orders,
        types: ['int', 'int', 'order_status', 'timestamptz', 'timestamptz'],
      },
      { table: 'order_items', columns: items, types: ['int', 'int', 'int', 'int', 'numeric'] },
      { table: 'product_reviews', columns: reviews, types: ['int', 'int', 'int', 'smallint', 'text'] },
      { table: 'audit_log', columns: audit, types: ['timestamptz', 'text', 'text', 'text', 'int'] },
    ],
    wrongTotalOrders: spread(nOrders, PLANTED_COUNTS.ordersWithWrongTotal, 19),
  };
}
