/**
 * The DDL the schema analysis proposes, in its lock-safe form, and how each is tried without touching the live
 * table. Indexes are built `CONCURRENTLY` (outside a transaction: writes go on), on a partitioned table one
 * partition at a time and attached to an index made `ON ONLY` the parent; indexes are dropped `CONCURRENTLY`; a
 * primary key is a unique index built concurrently, then `ADD PRIMARY KEY USING INDEX` (a brief lock, no scan).
 * The trial is the same DDL on a scratch copy (`CREATE TEMP TABLE ... (LIKE ... INCLUDING ALL)`), in a transaction
 * that rolls back; a drop's trial only checks the index is still there.
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import type { Catalog, CatalogIndex, CatalogTable } from '../lib/catalog.js';
import { freeName, relationNames } from '../lib/relation-names.js';
import type { Finding } from './findings.js';

/** The temporary table a trial builds its DDL on. */
export const SCRATCH = 'flowstate_scratch';
const scratch = `pg_temp.${quoteIdent(SCRATCH)}`;
const cols = (columns: readonly string[]) => columns.map(quoteIdent).join(', ');

type Fix = Pick<Finding, 'fix' | 'trial'>;

/**
 * `wanted`, or the first of `wanted_2`, `wanted_3`... that no relation of the schema is named (see
 * `machines/lib/relation-names.ts`): the fix says `IF NOT EXISTS`, which on a name already taken builds nothing.
 *
 * @example
 * ```ts
 * freeRelationName(catalog, 'orders_customer_id_idx'); // 'orders_customer_id_idx_2' when a table has that name
 * ```
 */
export function freeRelationName(catalog: Catalog, wanted: string): string {
  return freeName(wanted, relationNames(catalog));
}

/** An index on `columns` of `table` (of every partition, then the parent, for a partitioned table). */
export function createIndexFix(
  catalog: Catalog,
  table: CatalogTable,
  name: string,
  columns: readonly string[],
): Fix {
  const target = qualifiedName(catalog.schema, table.name);
  const trial = { copy: table.name, statements: [`CREATE INDEX ON ${scratch} (${cols(columns)})`] };
  if (!table.partitioned) {
    return {
      fix: `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(name)} ON ${target} (${cols(columns)})`,
      trial,
    };
  }
  // CONCURRENTLY is refused on a partitioned table: build each partition's index concurrently, then attach it.
  const statements = [`CREATE INDEX IF NOT EXISTS ${quoteIdent(name)} ON ONLY ${target} (${cols(columns)})`];
  statements.push(...attachPartitions(catalog, table.name, name, columns));
  return { fix: statements.join(';\n'), trial };
}

/**
 * The statements that give each partition of `parent` its index on `columns` and attach it to `parentIndex`: a leaf
 * builds it CONCURRENTLY; a partition that is partitioned in turn gets one `ON ONLY` itself, its own partitions
 * theirs (recursively), then is attached (a partitioned index is valid once every partition's is attached).
 */
function attachPartitions(
  catalog: Catalog,
  parent: string,
  parentIndex: string,
  columns: readonly string[],
): string[] {
  const statements: string[] = [];
  for (const p of catalog.tables.filter((t) => t.partitionOf === parent)) {
    // A partition that already has the index keeps it: it is attached, not built again.
    const existing = p.indexes.find(
      (i) => i.valid && i.method === 'btree' && i.predicate === null && i.columns.join() === columns.join(),
    )?.name;
    const own = existing ?? freeRelationName(catalog, `${p.name}_${columns.join('_')}_idx`);
    const on = qualifiedName(catalog.schema, p.name);
    if (p.partitioned) {
      if (!existing)
        statements.push(`CREATE INDEX IF NOT EXISTS ${quoteIdent(own)} ON ONLY ${on} (${cols(columns)})`);
      if (!existing) statements.push(...attachPartitions(catalog, p.name, own, columns));
    } else if (!existing) {
      statements.push(
        `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(own)} ON ${on} (${cols(columns)})`,
      );
    }
    statements.push(
      `ALTER INDEX ${qualifiedName(catalog.schema, parentIndex)} ATTACH PARTITION ${qualifiedName(catalog.schema, own)}`,
    );
  }
  return statements;
}

/** Dropping an index without blocking reads or writes (a partitioned index cannot go CONCURRENTLY). */
export function dropIndexFix(catalog: Catalog, table: CatalogTable, index: CatalogIndex): Fix {
  const how = table.partitioned ? '' : 'CONCURRENTLY ';
  return {
    fix: `DROP INDEX ${how}IF EXISTS ${qualifiedName(catalog.schema, index.name)}`,
    trial: { exists: index.name },
  };
}

/** A primary key over NOT NULL unique columns: the index built concurrently, then promoted. */
export function primaryKeyFix(catalog: Catalog, table: CatalogTable, columns: readonly string[]): Fix {
  const index = `${table.name}_pkey`.slice(0, 63);
  const target = qualifiedName(catalog.schema, table.name);
  return {
    fix: [
      `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(index)} ON ${target} (${cols(columns)})`,
      `ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(index)} PRIMARY KEY USING INDEX ${quoteIdent(index)}`,
    ].join(';\n'),
    trial: {
      copy: table.name,
      statements: [
        `CREATE UNIQUE INDEX flowstate_scratch_pkey ON ${scratch} (${cols(columns)})`,
        `ALTER TABLE ${scratch} ADD CONSTRAINT flowstate_scratch_pkey PRIMARY KEY USING INDEX flowstate_scratch_pkey`,
      ],
    },
  };
}
