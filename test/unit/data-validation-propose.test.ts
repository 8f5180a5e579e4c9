import { describe, expect, it } from 'vitest';
import { proposeRules } from '../../machines/data-validation/propose.js';
import type { Catalog, CatalogTable } from '../../machines/lib/catalog.js';

const column = (name: string, type = 'integer') => ({ name, type, nullable: false, default: null });
const key = (name: string, columns: string[]) => ({
  name,
  kind: 'p' as const,
  columns,
  definition: `PRIMARY KEY (${columns.join(', ')})`,
  expression: null,
  validated: true,
  refSchema: null,
  refTable: null,
  refColumns: [],
});
const table = (name: string, columns: string[], pk: string[]): CatalogTable =>
  ({
    name,
    kind: 'table',
    estimatedRows: 10,
    sizeBytes: 8192,
    columns: columns.map((c) => column(c)),
    constraints: [key(`${name}_pkey`, pk)],
    indexes: [],
  }) as unknown as CatalogTable;

// Northwind's "Order Details" is keyed by (OrderID, ProductID), with no foreign key declared: both are references.
describe('orphan proposals', () => {
  const orders = table('Orders', ['OrderID', 'CustomerID'], ['OrderID']);
  const products = table('Products', ['ProductID', 'UnitPrice'], ['ProductID']);
  const details = table('Order Details', ['OrderID', 'ProductID', 'Quantity'], ['OrderID', 'ProductID']);
  const catalog = { schema: 'public', tables: [orders, products, details] } as unknown as Catalog;
  const orphans = (t: CatalogTable) =>
    proposeRules(catalog, t)
      .filter((r) => r.kind === 'orphan')
      .map((r) => r.name);

  it('checks each column of a composite primary key that names another table', () => {
    expect(orphans(details)).toEqual(['OrderID -> Orders.OrderID', 'ProductID -> Products.ProductID']);
  });

  it("checks no table's own single-column key against itself", () => {
    expect(orphans(orders)).toEqual([]);
    expect(orphans(products)).toEqual([]);
  });
});
