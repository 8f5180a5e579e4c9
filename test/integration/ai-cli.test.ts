import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inProcessCli } from '../support/cli-in-process.js';
import { fakeOpenAI } from '../support/fake-openai.js';

// `flowstate run <template> --model <provider:model> --model-url <url>` and `--agents <module>`, run in process
// (main, as the bin calls it) against a fake OpenAI-compatible server on 127.0.0.1.

const SHIPPED = {
  sql: 'SELECT count(*) AS count FROM "public"."orders" t0 WHERE t0."status" = $1',
  params: ['shipped'],
  explanation: 'The number of orders whose status is shipped',
};
const INPUT = JSON.stringify({ request: 'How many orders have status shipped?' });

const cli = inProcessCli('ai-cli');
const { flowstate } = cli;

describe('flowstate run with an LLM or an agents module', () => {
  it('--model openai-compatible:<model> --model-url fills query-generation’s generator over HTTP', async () => {
    const server = await fakeOpenAI([{ kind: 'json', content: SHIPPED }]);
    try {
      const ran = await flowstate(
        'run',
        'query-generation',
        '--model',
        'openai-compatible:fake',
        '--model-url',
        server.url,
        '--input',
        INPUT,
        '--json',
      );
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      const report = JSON.parse(ran.stdout) as { status: string; sql: string; source: string };
      expect(report).toMatchObject({ status: 'answered', source: 'generator', sql: SHIPPED.sql });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.body.model).toBe('fake');
    } finally {
      await server.close();
    }
  }, 60_000);

  it('--model fills optimization’s index proposer; its DDL is judged before any trial', async () => {
    const good = 'CREATE INDEX CONCURRENTLY "llm_orders_customer_idx" ON "public"."orders" ("customer_id")';
    const server = await fakeOpenAI([
      {
        kind: 'json',
        content: {
          proposals: [
            { query: 'q1', ddl: good, reason: 'Seq Scan on orders by customer_id' },
            { query: 'q1', ddl: 'DROP TABLE orders', reason: 'hostile' },
          ],
          notes: [],
        },
      },
    ]);
    try {
      const ran = await flowstate(
        'run',
        'optimization',
        '--model',
        'openai-compatible:fake',
        '--model-url',
        server.url,
        '--json',
      );
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      const report = JSON.parse(ran.stdout) as {
        recommendations: { ddl: string }[];
        rejected: { ddl: string; why: string }[];
      };
      expect(report.recommendations.map((r) => r.ddl)).toEqual([good]);
      expect(report.rejected).toEqual([
        expect.objectContaining({
          ddl: 'DROP TABLE orders',
          why: expect.stringContaining('refused by the judge'),
        }),
      ]);
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('--agents <module> merges its registry over the template’s agents', async () => {
    const file = join(cli.dir(), 'agents.mjs');
    writeFileSync(file, `export const agents = { 'query-generator': () => (${JSON.stringify(SHIPPED)}) };\n`);
    const ran = await flowstate('run', 'query-generation', '--agents', file, '--input', INPUT, '--json');
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: 'answered', sql: SHIPPED.sql });
  }, 60_000);

  it('--model fills data-validation’s rule proposer; its rules are judged before they run', async () => {
    const server = await fakeOpenAI([
      {
        kind: 'json',
        content: {
          rules: [
            {
              table: 'orders',
              name: 'shipped after created',
              expression: 'shipped_at >= created_at',
              reason: 'dates',
            },
            { table: 'orders', name: 'slow', expression: 'pg_sleep(5) IS NULL', reason: 'hostile' },
          ],
          notes: [],
        },
      },
    ]);
    try {
      const ran = await flowstate(
        'run',
        'data-validation',
        '--model',
        'openai-compatible:fake',
        '--model-url',
        server.url,
        '--input',
        JSON.stringify({ tables: ['orders'] }),
        '--json',
      );
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      const report = JSON.parse(ran.stdout) as {
        proposals: { accepted: { name: string }[]; refused: { name: string; reason: string }[] };
      };
      expect(report.proposals.accepted.map((a) => a.name)).toEqual(['shipped after created']);
      expect(report.proposals.refused).toEqual([
        expect.objectContaining({ name: 'slow', reason: expect.stringContaining('calls pg_sleep') }),
      ]);
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('--model fills migration’s rewriter: a DROP in the rewrite is refused, the explanation is reported', async () => {
    const sql = 'CREATE INDEX orders_status_idx ON orders (status)';
    const explanation = 'Writes to orders wait while the index builds.';
    const server = await fakeOpenAI([
      { kind: 'json', content: { sql: `DROP TABLE audit_log; ${sql}`, explanation } },
    ]);
    try {
      const ran = await flowstate(
        'run',
        'migration',
        '--model',
        'openai-compatible:fake',
        '--model-url',
        server.url,
        '--input',
        JSON.stringify({ sql }),
        '--json',
      );
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      const report = JSON.parse(ran.stdout) as {
        status: string;
        explanation: string;
        proposedRewrite: { status: string; reason: string };
        statements: { sql: string }[];
      };
      expect(report.status).toBe('applied');
      expect(report.statements.map((s) => s.sql)).toEqual([sql]);
      expect(report.explanation).toBe(explanation);
      expect(report.proposedRewrite).toMatchObject({
        status: 'refused',
        reason: expect.stringContaining('table:audit_log'),
      });
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('--model fills schema-analysis’s explainer: what cites no real table is dropped', async () => {
    const server = await fakeOpenAI([
      {
        kind: 'json',
        content: {
          summary: 'Index `orders`.`customer_id` first. Then drop `ghost_table`.',
          priorities: [{ finding: 'missing-fk-index:orders.customer_id', why: 'Lookups scan `orders`.' }],
        },
      },
    ]);
    try {
      const ran = await flowstate(
        'run',
        'schema-analysis',
        '--model',
        'openai-compatible:fake',
        '--model-url',
        server.url,
        '--json',
      );
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      const report = JSON.parse(ran.stdout) as {
        explanation: { summary: string; priorities: { finding: string }[]; dropped: { reason: string }[] };
      };
      expect(report.explanation.summary).toBe('Index `orders`.`customer_id` first.');
      expect(report.explanation.priorities.map((p) => p.finding)).toEqual([
        'missing-fk-index:orders.customer_id',
      ]);
      expect(report.explanation.dropped[0]?.reason).toContain('"ghost_table"');
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('refuses a malformed --model, and --model-url alone (exit 2)', async () => {
    const alone = await flowstate(
      'run',
      'query-generation',
      '--model-url',
      'http://127.0.0.1:1/v1',
      '--json',
    );
    expect(alone.code).toBe(2);
    const bad = await flowstate('run', 'query-generation', '--model', 'nope', '--json');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('<provider>:<model>');
  }, 60_000);

  // A compensation that fails (here the migration's revert) leaves the run `failed`, and says what was not undone.
  it('a migration whose revert fails ends failed and prints what was not undone', async () => {
    const file = join(cli.dir(), 'revert-fails.mjs');
    writeFileSync(
      file,
      [
        'const final = (message) => Object.assign(new Error(message), { retryable: false });',
        'export const agents = {',
        "  'migration-verify': () => { throw final('the schema is not what the dry run produced'); },",
        "  'migration-revert': () => { throw final('Revert statement failed: cannot drop inherited column'); },",
        '};',
      ].join('\n'),
    );
    const input = JSON.stringify({ sql: 'ALTER TABLE orders ADD COLUMN note text' });
    const ran = await flowstate('run', 'migration', '--agents', file, '--input', input);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('flowstate: the migration run failed:');
    expect(ran.stderr).not.toContain('compensated');
    expect(ran.stderr).toMatch(
      /NOT undone \(apply\/compensate\): Step 'apply\/compensate' failed after 1 attempt: Revert statement failed: cannot drop inherited column/,
    );
  }, 60_000);

  it('an agents module that does not load exits 1', async () => {
    const ran = await flowstate(
      'run',
      'query-generation',
      '--agents',
      join(cli.dir(), 'missing.mjs'),
      '--json',
    );
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('cannot load agents');
  }, 60_000);
});
