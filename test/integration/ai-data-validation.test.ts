import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataValidation, type ValidationReport } from '../../machines/data-validation.js';
import { dataValidationAgents, llmAgentsFor, ruleProposerLlm } from '../../machines/templates.js';
import { pgliteDatabase } from '../../src/db/pglite.js';
import type { Database } from '../../src/db/port.js';
import { testEngine } from '../support/engine.js';
import { mockModel } from '../support/mock-model.js';

// data-validation's `validation-propose` filled by the AI SDK's mock model on PGlite: every proposed rule is parsed
// by the `validation-judge` step and only a boolean over the table's own columns and safe built-ins is run, in a
// second read-only pass; the rest is refused with its reason and never runs.

const ROWS = 200;
/** Rows 1 and 2 were shipped before they were ordered; weight is above 10 in every other row. */
const SHIPMENTS = `
  CREATE TABLE shipments (id integer PRIMARY KEY, ordered_at timestamptz NOT NULL, shipped_at timestamptz,
    weight numeric(8, 2), carrier text);
  INSERT INTO shipments
    SELECT i, timestamptz '2026-01-01' + i * interval '1 hour',
      timestamptz '2026-01-01' + i * interval '1 hour' + CASE WHEN i <= 2 THEN interval '-1 day' ELSE interval '2 days' END,
      (i % 2) * 20 + 1, CASE WHEN i % 3 = 0 THEN 'post' ELSE 'courier' END
    FROM generate_series(1, ${ROWS}) AS i;
  CREATE TABLE secrets (id integer PRIMARY KEY, value text);
  INSERT INTO secrets VALUES (1, 'x');`;

const GOOD = {
  table: 'shipments',
  name: 'shipped after ordered',
  expression: 'shipped_at >= ordered_at',
  reason: 'min/max',
};
const WIDE = { table: 'shipments', name: 'light parcels', expression: 'weight < 10', reason: 'mean' };
const CASTS = {
  table: 'shipments',
  name: 'known carrier',
  expression: "lower(carrier) IN ('post', 'courier') AND coalesce(weight, 0)::numeric BETWEEN 0 AND 1e6",
  reason: 'distinct values',
};

const HOSTILE = [
  { expression: 'pg_sleep(5) IS NOT NULL', reason: /calls pg_sleep/ },
  { expression: '(SELECT count(*) FROM secrets) > 0', reason: /a subquery/ },
  { expression: 'true) OR (SELECT pg_sleep(5)) IS NULL OR (true', reason: /a subquery/ },
  { expression: 'id > 0) FROM secrets WHERE (true', reason: /not one expression/ },
  { expression: 'id > 0; DROP TABLE shipments', reason: /cannot parse: syntax error at or near ";"/ },
  { expression: 'random() < 2', reason: /calls random/ },
  { expression: "nextval('s') > 0", reason: /calls nextval/ },
  { expression: 'secrets.value IS NULL', reason: /reads another table/ },
  { expression: 'no_such_column > 0', reason: /shipments has no column no_such_column/ },
  { expression: "weight > 'heavy'", reason: /PostgreSQL refuses it on shipments: invalid input syntax/ },
  { expression: 'carrier::regclass IS NOT NULL', reason: /a cast to regclass/ },
  { expression: 'public.evil(id)', reason: /calls public\.evil/ },
  { expression: '$1 > id', reason: /a parameter/ },
  { expression: 'sum(id) > 0', reason: /calls sum/ },
];

describe('data validation with an LLM rule proposer (mock model, PGlite)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await pgliteDatabase();
    for (const statement of SHIPMENTS.split(';').filter((s) => s.trim() !== '')) await db.query(statement);
  }, 60_000);
  afterAll(() => db.close());

  const run = async (agents: Record<string, unknown>) =>
    (await testEngine({ agents: { ...dataValidationAgents(db), ...agents } as never }).start(dataValidation, {
      tables: ['shipments'],
    }).result) as ValidationReport;

  it('by default proposes nothing more: no second pass, no proposals in the report', async () => {
    const report = await run({});
    expect(report.proposals).toBeUndefined();
    expect(report.violations.filter((v) => v.source === 'proposer')).toEqual([]);
    expect(report.violatingRows).toBe(0);
  }, 60_000);

  it('counts an accepted rule’s violations read-only, with examples; drops one the data contradicts', async () => {
    const { mock, prompts } = mockModel({ rules: [GOOD, WIDE, CASTS], notes: ['from the profile'] });
    const report = await run(llmAgentsFor('data-validation', mock));
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('shipped_at');
    expect(prompts[0]).toContain('Table shipments (200 rows)');
    expect(report.proposals?.refused).toEqual([]);
    expect(report.proposals?.accepted.map((a) => a.name)).toEqual([GOOD.name, WIDE.name, CASTS.name]);
    expect(report.proposals?.accepted[0]?.expression).toBe(
      '("shipments"."shipped_at" OPERATOR(pg_catalog.>=) "shipments"."ordered_at")',
    );
    expect(report.proposals?.notes).toEqual(['proposer: from the profile']);
    const broken = report.violations.find((v) => v.name === GOOD.name);
    expect(broken).toMatchObject({ source: 'proposer', kind: 'expression', count: 2 });
    expect(broken?.examples.map((e) => e.key)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(report.violatingRows).toBe(2);
    expect(report.violations.find((v) => v.name === CASTS.name)).toBeUndefined();
    // Half the rows weigh more than 10: not a rule here, so it is dropped, not reported as 100 violations.
    expect(report.violations.find((v) => v.name === WIDE.name)).toBeUndefined();
    expect(report.notes).toContainEqual(
      expect.objectContaining({ kind: 'proposal-dropped', message: expect.stringContaining(WIDE.name) }),
    );
    expect(report.rulesChecked).toBe(3);
  }, 60_000);

  it('accepts, rebuilds and compiles the expressions a rule needs', async () => {
    const needed = [
      'weight BETWEEN 0 AND 100',
      'weight NOT BETWEEN SYMMETRIC 1000 AND 500',
      '-weight <= 0',
      "carrier LIKE 'c%' OR carrier ILIKE 'P%' OR carrier NOT LIKE '%x%'",
      "carrier ~ '^[a-z]+$' AND carrier !~* 'X'",
      "carrier IN ('post', 'courier') AND carrier NOT IN ('nobody')",
      "carrier = ANY (ARRAY['post', 'courier'])",
      'shipped_at IS NULL OR shipped_at >= ordered_at',
      "shipped_at <= now() + interval '10 years' AND ordered_at::date <= CURRENT_DATE + 3650",
      "extract(year FROM ordered_at) >= 2000 AND date_trunc('day', ordered_at) <= ordered_at",
      'coalesce(weight, 0) >= 0 AND nullif(weight, 0) IS DISTINCT FROM -1',
      'greatest(weight, 0) = weight AND least(weight, 1000) = weight',
      "CASE WHEN carrier = 'post' THEN weight < 1000 ELSE true END",
      'length(lower(carrier)) BETWEEN 1 AND 20 AND abs(round(weight::numeric(8, 2), 1)) < 1e6',
      "substring(carrier FROM 1 FOR 1) <> '' AND position('o' IN carrier) >= 0 AND trim(carrier) = carrier",
      "(carrier || '-' || id::text) IS NOT NULL AND shipments.id > 0 AND (id % 1 = 0) IS TRUE",
      "carrier <> E'it''s \\ odd'",
    ];
    const { mock } = mockModel({
      rules: needed.map((expression, i) => ({
        table: 'shipments',
        name: `rule ${i}`,
        expression,
        reason: 'x',
      })),
    });
    const report = await run({ 'validation-propose': ruleProposerLlm(mock) });
    expect(report.proposals?.refused).toEqual([]);
    expect(report.proposals?.accepted).toHaveLength(needed.length);
    // They hold for every row but shipped_at >= ordered_at, which rows 1 and 2 break.
    expect(report.violations.map((v) => [v.name, v.count])).toEqual([['rule 7', 2]]);
  }, 60_000);

  it('refuses hostile rules with their reasons and never runs them', async () => {
    const { mock } = mockModel({
      rules: [
        ...HOSTILE.map((h, i) => ({
          table: 'shipments',
          name: `hostile ${i}`,
          expression: h.expression,
          reason: 'x',
        })),
        { ...GOOD, table: 'ghost' },
      ],
    });
    const started = performance.now();
    const report = await run({ 'validation-propose': ruleProposerLlm(mock) });
    // pg_sleep(5) never ran, nor anything else refused.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(report.proposals?.accepted).toEqual([]);
    const refused = report.proposals?.refused ?? [];
    expect(refused).toHaveLength(HOSTILE.length + 1);
    for (const [i, h] of HOSTILE.entries()) {
      expect(refused[i]?.expression).toBe(h.expression);
      expect(refused[i]?.reason).toMatch(h.reason);
    }
    expect(refused.at(-1)?.reason).toBe('ghost is not a table this run checks');
    const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM shipments');
    expect(Number(left.rows[0]?.n)).toBe(ROWS);
  }, 60_000);
});
