/**
 * Reading PostgreSQL's `EXPLAIN (FORMAT JSON)` output: the nodes of a plan, flattened, with the fields the
 * templates look at (scans and their filters, sort keys, indexes used), and a one-line summary.
 */
import { z } from 'zod';

/** One plan node, flattened (children are listed after their parent, with a depth). */
export interface PlanNode {
  readonly depth: number;
  readonly nodeType: string;
  readonly relation: string | null;
  readonly schema: string | null;
  readonly alias: string | null;
  readonly indexName: string | null;
  readonly filter: string | null;
  readonly indexCond: string | null;
  readonly hashCond: string | null;
  readonly sortKey: readonly string[];
  readonly totalCost: number;
  readonly planRows: number;
  /** ANALYZE only: rows per loop, loops, rows the filter threw away (per loop). */
  readonly actualRows: number | null;
  readonly loops: number | null;
  readonly rowsRemovedByFilter: number | null;
}

const RawNode: z.ZodType<RawNode> = z.lazy(() =>
  z
    .object({
      'Node Type': z.string(),
      'Relation Name': z.string().optional(),
      Schema: z.string().optional(),
      Alias: z.string().optional(),
      'Index Name': z.string().optional(),
      Filter: z.string().optional(),
      'Index Cond': z.string().optional(),
      'Hash Cond': z.string().optional(),
      'Sort Key': z.array(z.string()).optional(),
      'Total Cost': z.number(),
      'Plan Rows': z.number(),
      'Actual Rows': z.number().optional(),
      'Actual Loops': z.number().optional(),
      'Rows Removed by Filter': z.number().optional(),
      Plans: z.array(RawNode).optional(),
    })
    .loose(),
);
interface RawNode {
  'Node Type': string;
  'Relation Name'?: string | undefined;
  Schema?: string | undefined;
  Alias?: string | undefined;
  'Index Name'?: string | undefined;
  Filter?: string | undefined;
  'Index Cond'?: string | undefined;
  'Hash Cond'?: string | undefined;
  'Sort Key'?: string[] | undefined;
  'Total Cost': number;
  'Plan Rows': number;
  'Actual Rows'?: number | undefined;
  'Actual Loops'?: number | undefined;
  'Rows Removed by Filter'?: number | undefined;
  Plans?: RawNode[] | undefined;
}

const ExplainSchema = z
  .array(
    z
      .object({
        Plan: RawNode,
        'Planning Time': z.number().optional(),
        'Execution Time': z.number().optional(),
      })
      .loose(),
  )
  .min(1);

/** A plan, read. */
export interface ReadPlan {
  readonly nodes: readonly PlanNode[];
  readonly totalCost: number;
  /** ANALYZE only. */
  readonly executionMs: number | null;
  readonly planningMs: number | null;
  /** `Limit > Sort > Seq Scan on orders`. */
  readonly shape: string;
}

/** Reads `EXPLAIN (FORMAT JSON)` output (already parsed from JSON); throws when it is not a plan. */
export function readPlan(explain: unknown): ReadPlan {
  const [top] = ExplainSchema.parse(explain);
  const nodes: PlanNode[] = [];
  const walk = (raw: RawNode, depth: number) => {
    nodes.push({
      depth,
      nodeType: raw['Node Type'],
      relation: raw['Relation Name'] ?? null,
      schema: raw.Schema ?? null,
      alias: raw.Alias ?? null,
      indexName: raw['Index Name'] ?? null,
      filter: raw.Filter ?? null,
      indexCond: raw['Index Cond'] ?? null,
      hashCond: raw['Hash Cond'] ?? null,
      sortKey: raw['Sort Key'] ?? [],
      totalCost: raw['Total Cost'],
      planRows: raw['Plan Rows'],
      actualRows: raw['Actual Rows'] ?? null,
      loops: raw['Actual Loops'] ?? null,
      rowsRemovedByFilter: raw['Rows Removed by Filter'] ?? null,
    });
    for (const child of raw.Plans ?? []) walk(child, depth + 1);
  };
  walk(top!.Plan, 0);
  return {
    nodes,
    totalCost: top!.Plan['Total Cost'],
    executionMs: top!['Execution Time'] ?? null,
    planningMs: top!['Planning Time'] ?? null,
    shape: nodes.map(describeNode).join(' > '),
  };
}

/** `Seq Scan on orders`, `Index Scan using orders_customer_id_idx on orders`, `Sort`. */
function describeNode(node: PlanNode): string {
  const using = node.indexName ? ` using ${node.indexName}` : '';
  const on = node.relation ? ` on ${node.relation}` : '';
  return `${node.nodeType}${using}${on}`;
}
