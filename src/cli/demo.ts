/**
 * The `flowstate demo` workflow: "review a SQL change", run on embedded data by agents that only pretend to work
 * (they sleep 50-250 ms), so every construct shows up in the live progress without a database or a model.
 */
import { z } from 'zod';
import { workflow } from '../dsl/builder.js';
import type { AgentContext, AgentRegistry } from '../model/agent.js';
import type { WorkflowContext, WorkflowDefinition } from '../model/definition.js';

/** The demo's input: a SQL change and who proposes it. */
const DemoInput = z.object({ change: z.string().min(1), author: z.string().min(1) });

/** The demo's input type. */
type DemoInput = z.infer<typeof DemoInput>;

/** What the demo run returns. */
export interface DemoOutput {
  readonly verdict: 'approve' | 'approve-with-changes';
  readonly risk: 'low' | 'high';
  readonly findings: readonly string[];
  /** The plan the draft/critique loop settled on. */
  readonly plan: string;
  readonly revisions: number;
  readonly summary: string;
}

/** The change the demo reviews when none is given. */
export const DEMO_INPUT: DemoInput = {
  change:
    "ALTER TABLE orders ADD COLUMN status text; UPDATE orders SET status = 'open' WHERE shipped_at IS NULL;",
  author: 'ada',
};

interface Introspection {
  readonly tables: readonly string[];
  readonly rows: Readonly<Record<string, number>>;
}
interface Lint {
  readonly warnings: readonly string[];
}
interface Explain {
  readonly seqScan: boolean;
  readonly cost: number;
}
interface TableCheck {
  readonly table: string;
  readonly ok: boolean;
  readonly note: string;
}
interface Draft {
  readonly version: number;
  readonly text: string;
}
interface Critique {
  readonly approved: boolean;
  readonly comment: string;
}

const ROWS: Readonly<Record<string, number>> = {
  orders: 1_200_000,
  customers: 85_000,
  order_items: 4_800_000,
  payments: 1_150_000,
};

/** Sleeps like a real agent call would, and stops early when the attempt is aborted (timeout or cancel). */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const results = (ctx: WorkflowContext<DemoInput>) =>
  ctx.results as {
    introspect?: Introspection;
    lint?: Lint;
    explain?: Explain;
    checkTables?: readonly TableCheck[];
    draft?: Draft;
    critique?: Critique;
    indexAdvice?: string;
    fastTrack?: string;
    report?: string;
  };

/** Lint warnings, then the tables that need care. */
const findingsOf = (ctx: WorkflowContext<DemoInput>): string[] => {
  const r = results(ctx);
  const tables = (r.checkTables ?? []).filter((t) => !t.ok).map((t) => `${t.table}: ${t.note}`);
  return [...(r.lint?.warnings ?? []), ...tables];
};

/** Options of {@link demoAgents}. */
export interface DemoAgentOptions {
  /** Make the linter fail on every attempt, so the run fails (to see what a failure looks like). @default false */
  readonly failLint?: boolean;
}

/**
 * The demo's agents. The linter fails its first attempt, as a flaky network call would, so the run shows a retry.
 * Agents decide from their input and `ctx.attempt` only, so reruns behave the same.
 */
export function demoAgents(options: DemoAgentOptions = {}): AgentRegistry {
  return {
    introspect: async ({ change }: DemoInput, ctx: AgentContext): Promise<Introspection> => {
      await work(120, ctx.signal);
      const mentioned = Object.keys(ROWS).filter((t) => change.includes(t));
      const tables = [...new Set([...mentioned, ...Object.keys(ROWS)])];
      return { tables, rows: Object.fromEntries(tables.map((t) => [t, ROWS[t] ?? 0])) };
    },
    lint: async ({ change }: DemoInput, ctx: AgentContext): Promise<Lint> => {
      await work(60, ctx.signal);
      if (options.failLint || ctx.attempt === 1) throw new Error('linter connection reset');
      const warnings = /UPDATE\s+\w+\s+SET/i.test(change)
        ? ['UPDATE touches many rows in one transaction']
        : [];
      return { warnings };
    },
    explain: async ({ change }: DemoInput, ctx: AgentContext): Promise<Explain> => {
      await work(200, ctx.signal);
      return { seqScan: /IS NULL/i.test(change), cost: 48_210.5 };
    },
    indexAdvice: async (_input: unknown, ctx: AgentContext) => {
      await work(90, ctx.signal);
      return 'CREATE INDEX CONCURRENTLY orders_unshipped_idx ON orders (id) WHERE shipped_at IS NULL';
    },
    fastTrack: async (_input: unknown, ctx: AgentContext) => {
      await work(50, ctx.signal);
      return 'no index needed';
    },
    checkTable: async (table: string, ctx: AgentContext): Promise<TableCheck> => {
      await work(80 + table.length * 15, ctx.signal);
      const big = (ROWS[table] ?? 0) > 1_000_000;
      return {
        table,
        ok: !big,
        note: big ? 'large, batch the backfill' : 'fine',
      };
    },
    draft: async (input: { previous?: Draft; critique?: Critique }, ctx: AgentContext): Promise<Draft> => {
      await work(110, ctx.signal);
      const version = (input.previous?.version ?? 0) + 1;
      const text =
        version === 1
          ? 'Add the column, then backfill it.'
          : 'Add the column, index it concurrently, backfill in batches of 10k.';
      return { version, text };
    },
    critique: async (draft: Draft, ctx: AgentContext): Promise<Critique> => {
      await work(70, ctx.signal);
      return draft.version >= 2
        ? { approved: true, comment: 'safe to run' }
        : { approved: false, comment: 'the backfill locks orders: batch it' };
    },
    report: async (input: { risk: string; plan: string; findings: readonly string[] }, ctx: AgentContext) => {
      await work(60, ctx.signal);
      const n = input.findings.length;
      return `${input.risk} risk, ${n} finding${n === 1 ? '' : 's'}: ship it after the plan is applied`;
    },
  };
}

/** The demo workflow: introspect, lint and explain at once, triage, check each table, refine a plan, report. */
export const demoWorkflow: WorkflowDefinition<DemoInput, DemoOutput> = workflow<DemoInput, DemoOutput>(
  'review-sql-change',
  {
    description: 'Review a SQL change before it ships',
    input: DemoInput,
    guards: {
      risky: (ctx) => results(ctx).explain?.seqScan === true || (results(ctx).lint?.warnings.length ?? 0) > 0,
    },
    result: (ctx) => {
      const r = results(ctx);
      const findings = findingsOf(ctx);
      return {
        verdict: findings.length > 0 ? 'approve-with-changes' : 'approve',
        risk: r.indexAdvice === undefined ? 'low' : 'high',
        findings,
        plan: r.draft?.text ?? '',
        revisions: r.draft?.version ?? 0,
        summary: r.report ?? '',
      };
    },
  },
)
  .step('introspect')
  .parallel('analyze', {
    lint: (b) => b.step('lint', { retry: { attempts: 3, initialMs: 100, jitter: 0 }, timeoutMs: 2_000 }),
    explain: (b) => b.step('explain', { timeoutMs: 2_000 }),
  })
  .branch('triage', [
    { when: 'risky', then: (b) => b.step('indexAdvice') },
    { otherwise: (b) => b.step('fastTrack') },
  ])
  .map('checkTables', { items: 'results.introspect.tables', step: { agent: 'checkTable' }, concurrency: 2 })
  .loop(
    'refine',
    (b) =>
      b
        .step('draft', {
          input: (ctx) => ({ previous: results(ctx).draft, critique: results(ctx).critique }),
        })
        .step('critique', { input: 'results.draft' }),
    { until: 'results.critique.approved', maxIterations: 3 },
  )
  .step('report', {
    input: (ctx) => ({
      risk: results(ctx).indexAdvice === undefined ? 'low' : 'high',
      plan: results(ctx).draft?.text ?? '',
      findings: findingsOf(ctx),
    }),
  })
  .build();
