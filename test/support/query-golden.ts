/**
 * The query generation's golden requests, one set a database (`seedSample`, and `seedMusic`, `seedRental`,
 * `seedTraders` of other-schemas.ts): each request with the SQL whose rows a right answer returns. Read by
 * templates-query-golden.test.ts; its figures go to docs/templates.md.
 */

/** A request and the SQL whose rows a right answer holds (each expected row's values within one answer row). */
export type Golden = readonly [request: string, expected: string];

export const SAMPLE: readonly Golden[] = [
  ['How many orders have status shipped?', `SELECT count(*) FROM orders WHERE status = 'shipped'`],
  [
    'Top 5 customers by number of orders',
    'SELECT count(*) FROM orders GROUP BY customer_id ORDER BY 1 DESC LIMIT 5',
  ],
  ['Average price of products by category', 'SELECT round(avg(price), 2) FROM products GROUP BY category_id'],
  [
    'Number of orders per country',
    'SELECT c.country, count(*) FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY 1',
  ],
  ['How many products have price over 100?', 'SELECT count(*) FROM products WHERE price > 100'],
  ['Orders of customer 42', 'SELECT id FROM orders WHERE customer_id = 42'],
  ['How many customers from FR?', `SELECT count(*) FROM customers WHERE country = 'FR'`],
  // A name the table stores as a code: no generator here maps France to FR, and a count of every customer is wrong.
  ['How many customers in France?', `SELECT count(*) FROM customers WHERE country = 'FR'`],
  [
    'How many orders were placed in 2024?',
    `SELECT count(*) FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01'`,
  ],
  ['Number of products per category', 'SELECT count(*) FROM products GROUP BY category_id'],
  ['Average rating of product reviews', 'SELECT round(avg(rating), 2) FROM product_reviews'],
  ['Top 3 most expensive products', 'SELECT price FROM products ORDER BY price DESC LIMIT 3'],
  ['Order items per product', 'SELECT product_id, count(*) FROM order_items GROUP BY product_id'],
  ['How many customers have tier gold?', `SELECT count(*) FROM customers WHERE tier = 'gold'`],
  ['Maximum price of products', 'SELECT max(price) FROM products'],
  ['How many orders have total over 1000?', 'SELECT count(*) FROM orders WHERE total > 1000'],
  [
    'Total revenue per country',
    'SELECT c.country, sum(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY 1',
  ],
  ['Number of reviews per rating', 'SELECT rating, count(*) FROM product_reviews GROUP BY rating'],
  [
    'Average order total per status in 2024',
    `SELECT status, round(avg(total), 2) FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01' GROUP BY status`,
  ],
];

export const MUSIC: readonly Golden[] = [
  ['Tracks per genre', 'SELECT "GenreId", count(*) FROM music."Track" GROUP BY 1'],
  [
    'How many invoices in 2021?',
    `SELECT count(*) FROM music."Invoice" WHERE "InvoiceDate" >= '2021-01-01' AND "InvoiceDate" < '2022-01-01'`,
  ],
  [
    'Number of invoices per billing country',
    'SELECT "BillingCountry", count(*) FROM music."Invoice" GROUP BY 1',
  ],
  [
    'Top 5 customers by number of invoices',
    'SELECT count(*) FROM music."Invoice" GROUP BY "CustomerId" ORDER BY 1 DESC LIMIT 5',
  ],
  [
    'Average milliseconds of tracks by genre',
    'SELECT round(avg("Milliseconds"), 2) FROM music."Track" GROUP BY "GenreId"',
  ],
  ['How many tracks have rating PG?', `SELECT count(*) FROM music."Track" WHERE "Rating" = 'PG'`],
  ['Albums of artist 3', 'SELECT "AlbumId" FROM music."Album" WHERE "ArtistId" = 3'],
  [
    'Number of playlist tracks per playlist',
    'SELECT "PlaylistId", count(*) FROM music."PlaylistTrack" GROUP BY 1',
  ],
  [
    'How many payments in 2022?',
    `SELECT count(*) FROM music."Payment" WHERE "PaidAt" >= '2022-01-01' AND "PaidAt" < '2023-01-01'`,
  ],
  ['Total of invoices per country', 'SELECT "BillingCountry", sum("Total") FROM music."Invoice" GROUP BY 1'],
  // Harder: two hops, units, negation, a month. Unanswered is fine; answered wrong is not.
  [
    'Which artist has the most tracks?',
    'SELECT count(*) FROM music."Track" t JOIN music."Album" a USING ("AlbumId") GROUP BY a."ArtistId" ORDER BY 1 DESC LIMIT 1',
  ],
  [
    'Average invoice total per customer country',
    'SELECT c."Country", round(avg(i."Total"), 2) FROM music."Invoice" i JOIN music."Customer" c USING ("CustomerId") GROUP BY 1',
  ],
  ['Tracks longer than 5 minutes', 'SELECT "TrackId" FROM music."Track" WHERE "Milliseconds" > 300000'],
  [
    'Customers who never bought anything',
    'SELECT "CustomerId" FROM music."Customer" c WHERE NOT EXISTS (SELECT 1 FROM music."Invoice" i WHERE i."CustomerId" = c."CustomerId")',
  ],
  [
    'Revenue per genre',
    'SELECT t."GenreId", sum(l."UnitPrice" * l."Quantity") FROM music."InvoiceLine" l JOIN music."Track" t USING ("TrackId") GROUP BY 1',
  ],
  ['The longest track', 'SELECT max("Milliseconds") FROM music."Track"'],
  [
    'How many invoices in March 2021?',
    `SELECT count(*) FROM music."Invoice" WHERE "InvoiceDate" >= '2021-03-01' AND "InvoiceDate" < '2021-04-01'`,
  ],
  [
    'Number of tracks per album title',
    'SELECT a."Title", count(*) FROM music."Track" t JOIN music."Album" a USING ("AlbumId") GROUP BY 1',
  ],
  ['Customers from Canada', `SELECT "CustomerId" FROM music."Customer" WHERE "Country" = 'Canada'`],
  // Values no column lists among its common ones (nothing is billed there): the answer is no row, or 0.
  [
    'How many invoices billed to Germany?',
    `SELECT count(*) FROM music."Invoice" WHERE "BillingCountry" = 'Germany'`,
  ],
  ['Customers from New Zealand', `SELECT "CustomerId" FROM music."Customer" WHERE "Country" = 'New Zealand'`],
  [
    'Top 3 genres by number of tracks',
    'SELECT count(*) FROM music."Track" GROUP BY "GenreId" ORDER BY 1 DESC LIMIT 3',
  ],
  // A row position: the generator listed every track (answered wrong) before ordinals were a requirement.
  [
    'Tracks on the 2nd album',
    'SELECT "TrackId" FROM music."Track" WHERE "AlbumId" = (SELECT "AlbumId" FROM music."Album" ORDER BY "AlbumId" LIMIT 1 OFFSET 1)',
  ],
];

export const RENTAL: readonly Golden[] = [
  ['How many films have rating PG-13?', `SELECT count(*) FROM film WHERE rating = 'PG-13'`],
  ['Number of rentals per staff', 'SELECT staff_id, count(*) FROM rental GROUP BY 1'],
  [
    'Total amount of payments in 2022',
    `SELECT sum(amount) FROM payment WHERE payment_date >= '2022-01-01' AND payment_date < '2023-01-01'`,
  ],
  ['Average length of films by rating', 'SELECT rating, round(avg(length), 2) FROM film GROUP BY 1'],
  [
    'Top 3 customers by number of rentals',
    'SELECT count(*) FROM rental GROUP BY customer_id ORDER BY 1 DESC LIMIT 3',
  ],
  ['Films per language', 'SELECT language_id, count(*) FROM film GROUP BY 1'],
  [
    'How many payments before February 2022?',
    `SELECT count(*) FROM payment WHERE payment_date < '2022-02-01'`,
  ],
  ['How many rentals since 2022?', `SELECT count(*) FROM rental WHERE rental_date >= '2022-01-01'`],
  [
    'Rentals of the third customer',
    'SELECT rental_id FROM rental WHERE customer_id = (SELECT customer_id FROM customer ORDER BY customer_id LIMIT 1 OFFSET 2)',
  ],
  // Released in 2006: film's one date is its last_update (no film was edited in 2006), so unanswered.
  ['Films in 2006', 'SELECT film_id FROM film WHERE release_year = 2006'],
];

/** Names with spaces, a table "Orders", one named by a year, product codes; the code request stays unanswered. */
export const TRADERS: readonly Golden[] = [
  ['Orders per ship country', 'SELECT "Ship Country", count(*) FROM "Orders" GROUP BY 1'],
  ['How many products per category name?', 'SELECT "Category Name", count(*) FROM "Products" GROUP BY 1'],
  [
    'Orders in 2021',
    `SELECT "Order ID" FROM "Orders" WHERE "Order Date" BETWEEN '2021-01-01' AND '2021-12-31'`,
  ],
  ['Order details for product P5', `SELECT "Order ID" FROM "Order Details" WHERE "Product Code" = 'P5'`],
];
