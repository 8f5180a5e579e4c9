/**
 * The query generation's LLM seam on a schema of a thousand tables (a SaaS with hundreds of tables, a
 * schema-per-feature database): the judge measured its prompt at 650 KB for 1,000 small tables, past most models'
 * context and at a cost for every try. It describes the tables the request names (and their neighbours) and names
 * the rest. The index proposer, shown a hundred tables at most, was shown the first hundred by name: on a larger
 * schema, not the ones the queries read. The rule proposer was shown a hundred tables' profiles whatever their
 * width: 4 MB for a hundred 300-column tables.
 */
import { describe, expect, it } from 'vitest';
import { optimizationProposerLlm, queryGeneratorLlm, ruleProposerLlm } from '../../machines/llm.js';
import type { SchemaContext } from '../../machines/query-generation.js';
import type { AgentContext } from '../../src/index.js';
import { silent } from '../support/engine.js';
import { mockModel } from '../support/mock-model.js';

/** `entity_0001` ... `entity_<n>`, each referencing the one before, with seven columns. */
function wideContext(request: string, n: number): SchemaContext {
  const name = (i: number) => `entity_${String(i).padStart(4, '0')}`;
  return {
    request,
    schema: 'public',
    tables: Array.from({ length: n }, (_, k) => {
      const i = k + 1;
      const parent =
        i > 1 ? [{ name: `${name(i - 1)}_id`, type: 'integer', nullable: true, values: [] }] : [];
      return {
        name: name(i),
        kind: 'table' as const,
        estimatedRows: 20,
        primaryKey: ['id'],
        columns: [
          { name: 'id', type: 'integer', nullable: false, values: [] },
          ...parent,
          { name: 'name', type: 'text', nullable: false, values: [] },
          { name: 'amount', type: 'numeric(10,2)', nullable: true, values: [] },
          { name: 'status', type: 'text', nullable: true, values: ['a', 'b'] },
          { name: 'created_at', type: 'timestamp with time zone', nullable: false, values: [] },
          { name: 'meta', type: 'jsonb', nullable: true, values: [] },
        ],
        foreignKeys:
          i > 1 ? [{ columns: [`${name(i - 1)}_id`], refTable: name(i - 1), refColumns: ['id'] }] : [],
      };
    }),
  };
}

const ctx = {
  signal: new AbortController().signal,
  attempt: 1,
  workflowId: 'wide',
  step: 'generate',
  logger: silent,
  report: () => {},
} as unknown as AgentContext;

describe('the query generator LLM on a thousand tables', () => {
  it('describes the tables the request names and their neighbours, and names the rest, within a bound', async () => {
    const { mock, prompts } = mockModel({ sql: '', params: [], explanation: 'none' });
    const generate = queryGeneratorLlm(mock) as (input: unknown, ctx: AgentContext) => Promise<unknown>;
    const context = wideContext('Top 5 entity 0500 by number of entity 0501', 1000);
    await generate({ context }, ctx);
    const prompt = JSON.parse(prompts[0] ?? '[]') as { role: string; content: unknown }[];
    const user = JSON.stringify(prompt.filter((m) => m.role === 'user'));
    // The whole schema as JSON lines is 360 KB here.
    const whole = context.tables.map((t) => JSON.stringify(t)).join('\n').length;
    expect(whole).toBeGreaterThan(300_000);
    expect(user.length).toBeLessThan(80_000);
    // Both tables the request names are described (columns and keys), and so is entity_0502, which references one.
    for (const table of ['entity_0500', 'entity_0501', 'entity_0502'])
      expect(user).toContain(`{\\"name\\":\\"${table}\\"`);
    expect(user).toMatch(/\d+ more table\(s\) not described here/);
  });

  it('leaves a schema that fits as it is', async () => {
    const { mock, prompts } = mockModel({ sql: '', params: [], explanation: 'none' });
    const generate = queryGeneratorLlm(mock) as (input: unknown, ctx: AgentContext) => Promise<unknown>;
    const context = wideContext('How many entity 0003 are there?', 20);
    await generate({ context }, ctx);
    const user = prompts[0] ?? '';
    expect(user).not.toContain('not described here');
    expect(user.indexOf('entity_0001')).toBeLessThan(user.indexOf('entity_0003'));
  });
});

describe('the index proposer LLM on a schema of more than a hundred tables', () => {
  it('is shown the tables the queries read, whatever their names', async () => {
    const { mock, prompts } = mockModel({ proposals: [], notes: [] });
    const propose = optimizationProposerLlm(mock);
    const tables = Array.from({ length: 150 }, (_, i) => ({
      name: `t${String(i).padStart(3, '0')}`,
      columns: ['id', 'account_id', 'created_at'],
      indexes: [],
    }));
    const query = {
      id: 'q1',
      name: 'slow',
      sql: 'SELECT * FROM t149 WHERE account_id = $1',
      params: [],
      calls: 40,
      generic: true,
      schema: 'public',
    };
    const node = {
      depth: 0,
      nodeType: 'Seq Scan',
      relation: 't149',
      schema: 'public',
      filter: '(account_id = $1)',
      alias: 't149',
      indexCond: null,
      hashCond: null,
      totalCost: 2000,
      planRows: 10,
      actualRows: null,
      loops: null,
      rowsRemovedByFilter: null,
      indexName: null,
      sortKey: [],
    };
    await propose(
      {
        collect: { schema: 'public', source: 'input', notes: [], queries: [query], tables },
        explain: [
          {
            query,
            measure: {
              method: 'estimate',
              medianMs: 0,
              runsMs: [],
              planningMs: null,
              totalCost: 2000,
              shape: 'Seq Scan on t149',
              nodes: [node],
            },
          },
        ],
      },
      ctx,
    );
    expect(prompts[0]).toContain('{\\"table\\":\\"t149\\"');
    expect(prompts[0]).not.toContain('{\\"table\\":\\"t100\\"');
  });
});

describe('the rule proposer LLM on wide tables', () => {
  it('shows the profiles that fit and names the other tables', async () => {
    const { mock, prompts } = mockModel({ rules: [], notes: [] });
    const propose = ruleProposerLlm(mock) as (input: unknown, ctx: AgentContext) => Promise<unknown>;
    const profile = (i: number) => ({
      column: `q${i}`,
      type: 'smallint',
      nulls: 0,
      nonNull: 200,
      nullRate: 0,
      distinct: 7,
      distinctEstimated: false,
      min: 0,
      max: 6,
      mean: 3,
      stddev: 2,
      negatives: null,
      outliers: null,
      newestAgeDays: null,
    });
    const check = Array.from({ length: 40 }, (_, t) => ({
      table: `survey_${t}`,
      rows: 200,
      violatingRows: 0,
      violations: [],
      dropped: [],
      profile: Array.from({ length: 300 }, (_, i) => profile(i + 1)),
      notes: [],
      durationMs: 1,
    }));
    const plan = { schema: 'public', rules: [], tasks: [], threshold: 0.05, examples: 5, enforcedSkipped: 0 };
    await propose({ plan, check }, ctx);
    const user = prompts[0] ?? '';
    expect(user.length).toBeLessThan(120_000);
    expect(user).toContain('Table survey_0 (200 rows)');
    expect(user).toMatch(/\d+ more table\(s\) not shown: survey_\d+/);
  });
});
