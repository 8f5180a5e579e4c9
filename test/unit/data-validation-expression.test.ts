import { beforeAll, describe, expect, it } from 'vitest';
import { judgeExpression } from '../../machines/data-validation/expression.js';
import { loadParser } from '../../machines/lib/pg-parser.js';

// The judge of a proposed rule's SQL, without a database: what it rebuilds, and what it refuses.

const COLUMNS = ['id', 'total', 'note'];
const judge = (expression: string) => judgeExpression(expression, 'orders', COLUMNS);

beforeAll(() => loadParser());

describe('judgeExpression', () => {
  it('rebuilds an accepted rule from the parse tree, never from the proposal’s text', () => {
    expect(judge('total >= 0 AND note IS NOT NULL')).toEqual({
      ok: true,
      sql: '(("orders"."total" OPERATOR(pg_catalog.>=) 0) AND ("orders"."note" IS NOT NULL))',
      columns: ['total', 'note'],
    });
    // A comment, odd spacing and a qualified column come out the same.
    expect(judge('orders.total>=0 -- and more\n')).toMatchObject({
      ok: true,
      sql: '("orders"."total" OPERATOR(pg_catalog.>=) 0)',
    });
  });

  it('keeps SQL inside a string literal a literal, escaped for any standard_conforming_strings', () => {
    const verdict = judge("note <> '''; DROP TABLE orders; --\\'");
    expect(verdict).toEqual({
      ok: true,
      sql: `("orders"."note" OPERATOR(pg_catalog.<>) E'''; DROP TABLE orders; --\\\\')`,
      columns: ['note'],
    });
  });

  it.each([
    ['pg_sleep(1) IS NULL', /calls pg_sleep/],
    ['pg_catalog.pg_sleep(1) IS NULL', /calls pg_sleep/],
    ['total > (SELECT 1)', /a subquery/],
    ['EXISTS (SELECT 1 FROM orders)', /a subquery/],
    ['true) UNION SELECT (1', /not one expression/],
    ['true)) AS x, (pg_sleep(1)', /cannot parse/],
    ['total > $1', /a parameter/],
    ['customers.id > 0', /reads another table/],
    ['public.orders.total > 0', /is not a column of orders/],
    ['ghost > 0', /orders has no column ghost/],
    ['1 = 1', /reads no column of orders/],
    ['total::regclass IS NULL', /a cast to regclass/],
    ['total::public.money2 IS NULL', /a cast to public\.money2/],
    ['total OPERATOR(public.===) 1', /not PostgreSQL's own/],
    ['total @@ 1', /the operator @@ is not one the judge knows/],
    ['count(*) > 0', /calls count/],
    ['lower(note) OVER () IS NULL', /calls lower as an aggregate or window/],
    ['note COLLATE "C" > \'a\'', /a CollateClause/],
    ['(id, total) = (1, 2)', /a RowExpr/],
    ['CURRENT_USER = note', /CURRENT_USER is not a value of the row or the clock/],
    ["note SIMILAR TO 'a'", /calls similar_to_escape|SIMILAR/],
    [`total > 0${' AND total > 0'.repeat(300)}`, /longer than 2000 characters|more than 400 nodes/],
    ['', /empty/],
  ])('refuses %s', (expression, reason) => {
    const verdict = judge(expression);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
  });
});
