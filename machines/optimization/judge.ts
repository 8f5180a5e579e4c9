/**
 * The judge of the optimization's index proposals, whoever wrote them (the template's proposer, an LLM, an agent
 * of the user's): a proposal is tried only when its DDL, read with PostgreSQL's own parser, is exactly one
 * `CREATE INDEX CONCURRENTLY <name> ON <table> (<columns>)` on a table of the target schema that the workload's
 * queries read, naming plain columns the catalog has, for a query of the workload. Anything else (two statements,
 * a DROP, an expression or function call, a non-concurrent, unique or partial index, an unknown table or column)
 * is refused with its reason and never run. What the trial runs is rebuilt from the parsed facts (the plain
 * `CREATE INDEX` on the checked table and columns), never taken from the proposal.
 */
import type { Catalog, CatalogTable } from '../lib/catalog.js';
import { loadParser, type PgNode, parseSql, rangeVar, walk } from '../lib/pg-parser.js';
import { indexDdl, lockSafeIndexDdl } from './measure.js';
import type { Proposal, Query } from './schemas.js';

/** A proposal the judge refused, with why. */
export interface Refusal {
  readonly id: string;
  readonly ddl: string;
  readonly reason: string;
}

/** The judge's verdict on one proposal: the proposal to try (rebuilt from its checked DDL), or a refusal. */
export type Verdict =
  | { readonly ok: true; readonly proposal: Proposal }
  | { readonly ok: false; readonly reason: string };

/** PostgreSQL's limit on an identifier, in bytes. */
const MAX_NAME_BYTES = 63;

/**
 * Judges every proposal against the catalog of the target schema and the workload's queries.
 *
 * @example
 * ```ts
 * const { proposals, refused } = await judgeProposals(propose.proposals, catalog, collect.queries);
 * ```
 */
export async function judgeProposals(
  proposals: readonly Proposal[],
  catalog: Catalog,
  queries: readonly Query[],
): Promise<{ proposals: Proposal[]; refused: Refusal[] }> {
  await loadParser();
  const read = tablesRead(queries, catalog.schema);
  const taken = new Set(catalog.tables.flatMap((t) => t.indexes.map((i) => i.name)));
  const accepted: Proposal[] = [];
  const refused: Refusal[] = [];
  for (const proposal of proposals) {
    const verdict = judge(proposal, catalog, queries, read, taken);
    if (verdict.ok) {
      taken.add(verdict.proposal.name);
      accepted.push(verdict.proposal);
    } else {
      refused.push({ id: proposal.id, ddl: proposal.ddl, reason: verdict.reason });
    }
  }
  return { proposals: accepted, refused };
}

/** The tables (of `schema`, or unqualified) that the queries read, by name. */
function tablesRead(queries: readonly Query[], schema: string): Set<string> {
  const names = new Set<string>();
  for (const q of queries) {
    let statements: ReturnType<typeof parseSql>;
    try {
      statements = parseSql(q.sql);
    } catch {
      continue;
    }
    walk(
      statements.map((s) => s.node),
      (type, node) => {
        if (type !== 'RangeVar') return;
        const ref = rangeVar(node);
        if (ref && (ref.schema === null || ref.schema === schema)) names.add(ref.name);
      },
    );
  }
  return names;
}

function judge(
  proposal: Proposal,
  catalog: Catalog,
  queries: readonly Query[],
  read: Set<string>,
  taken: Set<string>,
): Verdict {
  const refuse = (reason: string): Verdict => ({ ok: false, reason });
  const query = queries.find((q) => q.id === proposal.query.id);
  if (!query)
    return refuse(`it names query ${JSON.stringify(proposal.query.id)}, which is not in the workload`);
  let statements: ReturnType<typeof parseSql>;
  try {
    statements = parseSql(proposal.ddl);
  } catch (error) {
    return refuse((error as Error).message);
  }
  const table = (name: string): CatalogTable | undefined =>
    catalog.tables.find((t) => t.name === name && t.kind === 'table');
  // The template's own lock-safe form on a partitioned table (ON ONLY the parent, each partition concurrently,
  // attached) is accepted exactly as the template writes it, and nothing else of several statements.
  if (statements.length > 1) {
    const parent = table(proposal.table);
    if (parent?.partitioned && statements[0]?.type === 'IndexStmt') {
      const expected = lockSafeIndexDdl(catalog, parent.name, proposal.name, proposal.columns);
      if (expected === proposal.ddl.trim()) {
        const verdict = judgeIndex(statements[0].node, { ...proposal, query }, catalog, read, taken, true);
        if (verdict.ok) return { ok: true, proposal: { ...verdict.proposal, ddl: expected } };
        return verdict;
      }
    }
    return refuse(
      `${statements.length} statements (${statements.map((s) => s.type).join(', ')}): only one CREATE INDEX CONCURRENTLY is tried`,
    );
  }
  const statement = statements[0];
  if (!statement) return refuse('no statement');
  if (statement.type !== 'IndexStmt') {
    return refuse(`a ${statement.type}, not a CREATE INDEX CONCURRENTLY`);
  }
  return judgeIndex(statement.node, { ...proposal, query }, catalog, read, taken, false);
}

function partitionsOf(catalog: Catalog, parent: string): string[] {
  return catalog.tables.filter((t) => t.partitionOf === parent).map((t) => t.name);
}

/** Checks one `IndexStmt`; on success, the proposal rebuilt from it. */
function judgeIndex(
  node: PgNode,
  proposal: Proposal,
  catalog: Catalog,
  read: Set<string>,
  taken: Set<string>,
  onlyParent: boolean,
): Verdict {
  const refuse = (reason: string): Verdict => ({ ok: false, reason });
  const index = node as {
    idxname?: string;
    relation?: unknown;
    accessMethod?: string;
    tableSpace?: string;
    indexParams?: {
      IndexElem?: {
        name?: string;
        expr?: unknown;
        ordering?: string;
        nulls_ordering?: string;
        opclass?: unknown;
        collation?: unknown;
      };
    }[];
    indexIncludingParams?: unknown[];
    options?: unknown[];
    whereClause?: unknown;
    unique?: boolean;
    concurrent?: boolean;
  };
  // The partitioned form's first statement is `CREATE INDEX ... ON ONLY parent`, concurrent per partition.
  if (!onlyParent && !index.concurrent) {
    return refuse('not CONCURRENTLY: a plain CREATE INDEX blocks writes to the table while it builds');
  }
  if (index.unique) return refuse('a UNIQUE index changes which writes the table accepts');
  if (index.whereClause !== undefined)
    return refuse('a partial index (WHERE): only plain column indexes are tried');
  if (index.tableSpace !== undefined) return refuse('a TABLESPACE: only plain column indexes are tried');
  if ((index.options ?? []).length > 0)
    return refuse('storage options (WITH): only plain column indexes are tried');
  if ((index.indexIncludingParams ?? []).length > 0)
    return refuse('INCLUDE columns: only plain column indexes are tried');
  if ((index.accessMethod ?? 'btree') !== 'btree')
    return refuse(`USING ${index.accessMethod}: only btree indexes are tried`);
  const name = index.idxname;
  if (!name) return refuse('the index has no name');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    return refuse(`the index name ${name} is longer than 63 bytes`);
  if (taken.has(name)) return refuse(`an index named ${name} already exists in ${catalog.schema}`);
  const ref = rangeVar(index.relation);
  if (!ref) return refuse('no table');
  if (ref.schema !== null && ref.schema !== catalog.schema) {
    return refuse(`the table ${ref.schema}.${ref.name} is outside the target schema ${catalog.schema}`);
  }
  const table = catalog.tables.find((t) => t.name === ref.name && t.kind === 'table');
  if (!table) return refuse(`${catalog.schema}.${ref.name} is not a table of the target schema`);
  const partitions = partitionsOf(catalog, table.name);
  const readByWorkload =
    read.has(table.name) ||
    partitions.some((p) => read.has(p)) ||
    (table.partitionOf != null && read.has(table.partitionOf));
  if (!readByWorkload) return refuse(`no query of the workload reads ${table.name}`);
  let functionCalled = false;
  walk(index.indexParams ?? [], (type) => {
    if (type === 'FuncCall') functionCalled = true;
  });
  if (functionCalled) return refuse('an expression calls a function: only plain columns are tried');
  const columns: string[] = [];
  for (const param of index.indexParams ?? []) {
    const elem = param.IndexElem;
    if (!elem || elem.expr !== undefined || !elem.name)
      return refuse('an expression: only plain columns are tried');
    if (elem.opclass !== undefined || elem.collation !== undefined) {
      return refuse(`an operator class or collation on ${elem.name}: only plain columns are tried`);
    }
    if (!table.columns.some((c) => c.name === elem.name)) {
      return refuse(`${table.name} has no column ${elem.name}`);
    }
    if (columns.includes(elem.name)) return refuse(`${elem.name} is indexed twice`);
    columns.push(elem.name);
  }
  if (columns.length === 0) return refuse('no columns');
  // One return for every shape. The DDL differs: the template's partitioned form is kept as written; a partitioned
  // table gets the lock-safe script over its partitions (PostgreSQL cannot index it concurrently); a plain table
  // gets CREATE INDEX CONCURRENTLY.
  const ddl = onlyParent ? proposal.ddl : lockSafeIndexDdl(catalog, table.name, name, columns);
  return {
    ok: true,
    proposal: {
      ...proposal,
      table: table.name,
      columns,
      name,
      ddl,
      trialDdl: indexDdl(catalog.schema, table.name, name, columns),
    },
  };
}
