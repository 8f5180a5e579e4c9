import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SchemaReport, schemaAnalysis, template } from '../../machines/schema-analysis.js';
import { llmAgentsFor, schemaExplainerLlm } from '../../machines/templates.js';
import { pgliteDatabase } from '../../src/db/pglite.js';
import type { Database } from '../../src/db/port.js';
import { seedSample } from '../../src/db/sample/index.js';
import { testEngine } from '../support/engine.js';
import { mockModel } from '../support/mock-model.js';
import { seedMusic, seedRental } from '../support/other-schemas.js';

// schema-analysis's `schema-explain` filled by the AI SDK's mock model on PGlite: the findings stay the checks',
// and the report's judge keeps only the sentences and priorities that cite findings and objects that exist.

describe('schema analysis with an LLM explainer (mock model, PGlite)', () => {
  let db: Database;
  let plain: SchemaReport;
  beforeAll(async () => {
    db = await pgliteDatabase();
    await seedSample(db);
    plain = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {}).result;
  }, 60_000);
  afterAll(() => db.close());

  const run = async (agents: Record<string, unknown>) =>
    (await testEngine({ agents: { ...template.agents(db), ...agents } as never }).start(schemaAnalysis, {})
      .result) as SchemaReport;

  it('by default explains with a templated summary of the findings, most urgent first', () => {
    const explanation = plain.explanation;
    expect(explanation?.summary).toContain(`${plain.counts.critical} critical finding`);
    expect(explanation?.priorities[0]?.severity).toBe('critical');
    expect(explanation?.priorities.map((p) => p.finding)).toEqual(
      plain.findings
        .filter((f) => f.severity !== 'info')
        .slice(0, 5)
        .map((f) => f.id),
    );
    expect(explanation?.dropped).toEqual([]);
  });

  it('keeps a model’s explanation that cites real findings; the findings are unchanged', async () => {
    const { mock, prompts } = mockModel({
      summary:
        'The most urgent problem is the missing index on `orders`.`customer_id`. Every lookup of a customer’s orders reads the whole table.',
      priorities: [
        {
          finding: 'missing-fk-index:orders.customer_id',
          why: 'Lookups by `orders.customer_id` scan `orders`; build the index CONCURRENTLY.',
        },
        {
          finding: 'missing-primary-key:audit_log',
          why: '`audit_log` rows cannot be told apart; add a `bigint` identity key (pg_stat_statements can confirm).',
        },
      ],
    });
    const report = await run(llmAgentsFor('schema-analysis', mock));
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('missing-fk-index:orders.customer_id');
    expect(report.findings).toEqual(plain.findings);
    expect(report.score).toBe(plain.score);
    expect(report.explanation?.summary).toContain('customer’s orders');
    expect(report.explanation?.priorities).toEqual([
      expect.objectContaining({ finding: 'missing-fk-index:orders.customer_id', table: 'orders' }),
      expect.objectContaining({ finding: 'missing-primary-key:audit_log', table: 'audit_log' }),
    ]);
    expect(report.explanation?.dropped).toEqual([]);
  }, 60_000);

  it('drops sentences and priorities citing tables or findings that do not exist', async () => {
    const { mock } = mockModel({
      summary:
        'Drop the table `ghost_orders` at once. The index on orders.customer_id is missing. Also shard invoice_lines_2019.',
      priorities: [
        { finding: 'missing-table:ghost_orders', why: 'It does not exist but sounds bad.' },
        { finding: 'missing-fk-index:orders.customer_id', why: 'Move it to `ghost_schema.orders`.' },
        { finding: 'missing-primary-key:audit_log', why: 'Add a primary key to `audit_log`.' },
      ],
    });
    const report = await run({ 'schema-explain': schemaExplainerLlm(mock) });
    expect(report.findings).toEqual(plain.findings);
    const explanation = report.explanation;
    expect(explanation?.summary).toBe('The index on orders.customer_id is missing.');
    expect(explanation?.priorities.map((p) => p.finding)).toEqual(['missing-primary-key:audit_log']);
    const reasons = explanation?.dropped.map((d) => d.reason).join('\n');
    expect(explanation?.dropped).toHaveLength(4);
    expect(reasons).toContain('"ghost_orders"');
    expect(reasons).toContain('"invoice_lines_2019"');
    expect(reasons).toContain('the finding "missing-table:ghost_orders", which the analysis did not report');
    expect(reasons).toContain('"ghost_schema.orders"');
  }, 60_000);

  it('falls back to the templated summary when every sentence is dropped', async () => {
    const { mock } = mockModel({ summary: 'Everything is wrong with `nowhere_table`.', priorities: [] });
    const report = await run({ 'schema-explain': schemaExplainerLlm(mock) });
    expect(report.explanation?.summary).toBe(plain.explanation?.summary);
    expect(report.explanation?.dropped).toHaveLength(1);
  }, 60_000);
});

describe.each([
  ['the music store', seedMusic],
  ['the DVD rental', seedRental],
])('the templated explanation on %s (PGlite)', (_name, seed) => {
  it('cites the findings in their own words and the judge drops none of it', async () => {
    const db = await pgliteDatabase();
    try {
      await seed(db);
      const report = await testEngine({ agents: template.agents(db) }).start(schemaAnalysis, {}).result;
      const explanation = report.explanation;
      expect(explanation?.dropped).toEqual([]);
      expect(explanation?.priorities.map((p) => p.why)).toEqual(
        report.findings
          .filter((f) => f.severity !== 'info')
          .slice(0, 5)
          .map((f) => f.message),
      );
      expect(explanation?.summary).toContain(`${report.schema} has ${report.counts.critical} critical`);
    } finally {
      await db.close();
    }
  }, 60_000);
});
