import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/cli/commands/report.js';

// The readable report prints what an LLM seam added: the explanation, the proposed rules, the rewrite.
describe('the readable report of a run', () => {
  it('prints the schema analysis explanation summary', () => {
    const report = {
      schema: 'public',
      score: 80,
      grade: 'B',
      overview: { tables: 2, indexes: 1, foreignKeys: 1 },
      counts: { critical: 0, warning: 1, info: 0 },
      findings: [],
      path: 'advice',
      actions: [],
      explanation: { summary: 'One warning: orders.customer_id has no index.', priorities: [], dropped: [] },
    };
    expect(summarize('schema-analysis', report, { full: false })).toContain(
      'explanation: One warning: orders.customer_id has no index.',
    );
  });

  it('prints proposed rules, with the refused ones and why', () => {
    const report = {
      rowsChecked: 10,
      batches: 1,
      rulesChecked: 2,
      violatingRows: 0,
      ratio: 0,
      threshold: 0.05,
      violations: [],
      proposals: {
        accepted: [{ rule: 'r', table: 'orders', name: 'total_positive', expression: 'total > 0' }],
        refused: [
          {
            table: 'orders',
            name: 'slow',
            expression: 'pg_sleep(1)',
            reason: 'function pg_sleep is not allowed',
          },
        ],
        notes: [],
      },
    };
    const lines = summarize('data-validation', report, { full: true });
    expect(lines).toContain('proposed rules: 1 accepted, 1 refused');
    expect(lines).toContain('  refused orders: slow (function pg_sleep is not allowed)');
  });

  it('prints a migration rewrite and its risks before the statements', () => {
    const report = {
      status: 'applied',
      schema: 'public',
      statements: ['CREATE INDEX CONCURRENTLY i ON t (c)'],
      destructive: false,
      dryRun: { durationMs: 3, reversible: true },
      apply: { durationMs: 4 },
      changes: [],
      explanation: 'Statement 1 builds an index without blocking writes.',
      proposedRewrite: { status: 'taken', sql: 'CREATE INDEX CONCURRENTLY i ON t (c)', reason: 'lock-safe' },
    };
    const lines = summarize('migration', report, { full: false });
    expect(lines.slice(0, 2)).toEqual([
      'rewrite taken: lock-safe',
      'risks: Statement 1 builds an index without blocking writes.',
    ]);
  });
});
