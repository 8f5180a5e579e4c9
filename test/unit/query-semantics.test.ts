import { describe, expect, it } from 'vitest';
import type { SchemaContext } from '../../machines/query-generation/schema-context.js';
import { semanticProblems } from '../../machines/query-generation/semantic-check.js';
import { requirementsOf } from '../../machines/query-generation/semantics.js';

const context = (request: string): SchemaContext => ({
  request,
  schema: 'public',
  tables: [
    {
      name: 'customers',
      kind: 'table',
      estimatedRows: 100,
      primaryKey: ['id'],
      columns: [
        { name: 'id', type: 'integer', nullable: false, values: [] },
        { name: 'country', type: 'character(2)', nullable: false, values: ['FR', 'DE'] },
        { name: 'CityName', type: 'text', nullable: true, values: [] },
      ],
      foreignKeys: [],
    },
  ],
});

const values = (request: string) =>
  requirementsOf(context(request))
    .filter((r) => r.kind === 'value')
    .map((r) => r.value);

// A name the request capitalizes must show in the query: a generator that cannot place it must not answer a wider
// question (every customer) as if it were the request.
describe('values a request names', () => {
  it('requires a capitalized name that neither the schema nor a column value reads', () => {
    expect(values('How many customers in France?')).toEqual(['France']);
    expect(values('Customers from New Zealand')).toEqual(['New Zealand']);
    expect(values('How many customers from FR live in Paris or Lyon?')).toEqual(['FR', 'Paris', 'Lyon']);
  });

  it('reads no name in a sentence start, a schema word, a time, or quoted text', () => {
    expect(values('Customers per Country')).toEqual([]);
    expect(values('How many customers per City Name?')).toEqual([]);
    expect(values('Customers created in March or on Monday')).toEqual([]);
    expect(values('Customers. Count them')).toEqual([]);
    expect(values('Customers named "Ada Lovelace" Today')).toEqual(['Ada Lovelace']);
  });

  it('passes a query that shows the name as a parameter, a literal or a LIKE pattern, and refuses one that does not', () => {
    const requirements = requirementsOf(context('How many customers in France?'));
    const check = (sql: string, params: unknown[] = []) =>
      semanticProblems(requirements, sql, params, context('How many customers in France?'));
    expect(check('SELECT count(*) FROM customers')).toEqual([expect.stringContaining("'France'")]);
    expect(check('SELECT count(*) FROM customers WHERE country_name = $1', ['France'])).toEqual([]);
    expect(check("SELECT count(*) FROM customers WHERE country_name = 'France'")).toEqual([]);
    expect(check("SELECT count(*) FROM customers WHERE country_name ILIKE '%france%'")).toEqual([]);
    expect(check('SELECT count(*) FROM customers WHERE country_name ILIKE $1', ['%France%'])).toEqual([]);
    // A code a column lists stands for the name (the sample stores countries as FR, DE).
    expect(check("SELECT count(*) FROM customers WHERE country = 'FR'")).toEqual([]);
    expect(check('SELECT count(*) FROM customers WHERE country = $1', ['FR'])).toEqual([]);
    // A word that merely starts with the name is not it; a comment is not the query.
    expect(check("SELECT count(*) FROM customers WHERE country_name = 'Frances'")).toHaveLength(1);
    expect(check("SELECT count(*) FROM customers -- no column holds 'France'")).toHaveLength(1);
    // A label in the SELECT list, or a negation, is not a filter on the name.
    expect(check("SELECT 'France' AS country, count(*) FROM customers")).toHaveLength(1);
    expect(check("SELECT count(*) FROM customers WHERE country_name <> 'France'")).toHaveLength(1);
    expect(
      check("SELECT count(*) FROM customers WHERE country_name NOT IN ('France', 'Spain')"),
    ).toHaveLength(1);
    expect(check('SELECT count(*) FROM customers WHERE country_name != $1', ['France'])).toHaveLength(1);
    expect(check("SELECT count(*) FROM customers WHERE country_name NOT ILIKE '%france%'")).toHaveLength(1);
  });

  it('finds each word of a name in one value, across connectors and apostrophes', () => {
    const asked = (request: string, sql: string) =>
      semanticProblems(requirementsOf(context(request)), sql, [], context(request));
    expect(values('Customers in Rio de Janeiro')).toEqual(['Rio', 'Janeiro']);
    expect(
      asked('Customers in Rio de Janeiro', "SELECT id FROM customers WHERE city = 'Rio de Janeiro'"),
    ).toEqual([]);
    expect(values("Customers named O'Brien")).toEqual(['Brien']);
    expect(asked("Customers named O'Brien", "SELECT id FROM customers WHERE name = 'O''Brien'")).toEqual([]);
  });

  it('reads no name from a request in title case, or from words that name no value', () => {
    expect(values('Customers From Canada')).toEqual([]);
    expect(values('Show All Orders From Last Year')).toEqual([]);
    expect(values('Show the Top 5 customers by number of orders')).toEqual([]);
    expect(values('What is the Average price of products?')).toEqual([]);
    expect(values('Customers in Paris\nShow email too')).toEqual(['Paris']);
    expect(values('Orders placed on a Tues in Sept')).toEqual([]);
  });
});
