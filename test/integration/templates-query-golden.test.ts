/**
 * The query generation's golden set: realistic requests with the rows a right answer returns, on the sample
 * database and on the music store (another shape: PascalCase, no foreign keys declared, a partitioned table, an
 * enum). Each request ends answered right, answered wrong or unanswered; the goal is no wrong answer reported as
 * answered. The requests are in test/support/query-golden.ts; the figures go to docs/templates.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryGenerationAgents, queryGenerationWorkflow } from '../../machines/query-generation.js';
import { pgliteDatabase } from '../../src/db/pglite.js';
import type { Database } from '../../src/db/port.js';
import { seedSample } from '../../src/db/sample/index.js';
import { testEngine } from '../support/engine.js';
import { seedMusic, seedRental, seedTraders } from '../support/other-schemas.js';
import { type Golden, MUSIC, RENTAL, SAMPLE, TRADERS } from '../support/query-golden.js';

type Outcome = 'right' | 'wrong' | 'unanswered';

const normalize = (v: unknown): string => {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)))
    return (Math.round(Number(v) * 100) / 100).toString();
  return String(v);
};

/** Whether every expected row's values lie in its own answer row (a perfect matching), as many rows on both sides. */
function matches(expected: readonly unknown[][], answer: readonly unknown[][]): boolean {
  if (expected.length !== answer.length) return false;
  const fits = (want: unknown[], got: unknown[]) => {
    const pool = got.map(normalize);
    return want.map(normalize).every((v) => {
      const k = pool.indexOf(v);
      if (k !== -1) pool.splice(k, 1);
      return k !== -1;
    });
  };
  const owner = new Array<number>(answer.length).fill(-1);
  const assign = (i: number, seen: Set<number>): boolean =>
    answer.some((row, j) => {
      if (seen.has(j) || !fits(expected[i] as unknown[], row)) return false;
      seen.add(j);
      if (owner[j] === -1 || assign(owner[j] as number, seen)) {
        owner[j] = i;
        return true;
      }
      return false;
    });
  return expected.every((_, i) => assign(i, new Set()));
}

async function judge(
  db: Database,
  [request, expected]: Golden,
): Promise<{ outcome: Outcome; sql: string | null }> {
  const wf = queryGenerationWorkflow({ reviewTimeoutMs: 20 });
  const report = await testEngine({ agents: queryGenerationAgents(db) }).start(wf, { request }).result;
  if (report.status !== 'answered' || report.sql === null)
    return { outcome: 'unanswered', sql: JSON.stringify(report.history.map((h) => [h.sql, h.problems])) };
  const answer = (await db.query(report.sql, report.params)).rows.map((r) => Object.values(r));
  const want = (await db.query(expected)).rows.map((r) => Object.values(r));
  return { outcome: matches(want, answer) ? 'right' : 'wrong', sql: report.sql };
}

describe('the query generation golden set (PGlite)', () => {
  const dbs: Database[] = [];
  const outcomes: { set: string; request: string; outcome: Outcome }[] = [];
  beforeAll(async () => {
    const sample = await pgliteDatabase();
    await seedSample(sample);
    const music = await pgliteDatabase();
    await seedMusic(music);
    const rental = await pgliteDatabase();
    await seedRental(rental);
    const traders = await pgliteDatabase();
    await seedTraders(traders);
    dbs.push(sample, music, rental, traders);
  }, 60_000);
  afterAll(async () => {
    for (const db of dbs) await db.close();
    for (const set of ['sample', 'music', 'rental', 'traders']) {
      const mine = outcomes.filter((o) => o.set === set);
      const count = (o: Outcome) => mine.filter((m) => m.outcome === o).length;
      console.log(
        `golden ${set}: ${mine.length} requests, ${count('right')} right, ${count('wrong')} wrong answered, ${count('unanswered')} unanswered`,
      );
    }
  });

  it('answers its default input {} on either database with a question the schema can answer', async () => {
    for (const db of dbs.slice(0, 2)) {
      const wf = queryGenerationWorkflow({ reviewTimeoutMs: 20 });
      const report = await testEngine({ agents: queryGenerationAgents(db) }).start(wf, {}).result;
      expect(report.request).toMatch(/^Top 5 .+ by number of .+$/);
      expect(report.status, JSON.stringify(report.problems)).toBe('answered');
      expect(report.sample).toHaveLength(5);
    }
  });

  it('refuses a query that runs but drops part of the request, and says what is missing', async () => {
    const wrong: Record<string, { sql: string; params: (string | number)[] }> = {
      'Tracks per genre': { sql: 'SELECT count(*) FROM music."PlaylistTrack"', params: [] },
      'Invoices in 2021': { sql: 'SELECT * FROM music."Invoice" WHERE "InvoiceId" = $1', params: [2021] },
      'Top 5 customers by number of invoices': {
        sql: 'SELECT "CustomerId", count(*) FROM music."Invoice" GROUP BY 1 ORDER BY 2 DESC',
        params: [],
      },
      // The position on the joined rows (the 2nd track-and-album row), not on the albums.
      'Tracks on the 2nd album': {
        sql: 'SELECT t.* FROM music."Track" t JOIN music."Album" a USING ("AlbumId") ORDER BY a."AlbumId" LIMIT 1 OFFSET 1',
        params: [],
      },
    };
    for (const [request, candidate] of Object.entries(wrong)) {
      const agents = queryGenerationAgents(dbs[1] as Database, {
        generator: () => ({ ...candidate, explanation: 'wrong on purpose' }),
      });
      const wf = queryGenerationWorkflow({ reviewTimeoutMs: 20, maxAttempts: 1 });
      const report = await testEngine({ agents }).start(wf, { request }).result;
      expect(report.status, request).toBe('unanswered');
      expect(report.problems.join(' '), request).toMatch(
        /GROUP BY on genre|names 2021 but the query does not filter a date column|LIMIT 5|2nd album \(a row position\)/,
      );
    }
  });

  it('takes a query that picks the row an ordinal names, by an order and a position, in a subquery or not', async () => {
    const right: Record<string, { sql: string; params: (string | number)[] }> = {
      'Tracks on the 2nd album': {
        sql: 'SELECT "TrackId" FROM music."Track" WHERE "AlbumId" = (SELECT "AlbumId" FROM music."Album" ORDER BY "AlbumId" LIMIT $1 OFFSET $2)',
        params: [1, 1],
      },
      'The 3rd longest track': {
        sql: 'SELECT "Name" FROM music."Track" ORDER BY "Milliseconds" DESC LIMIT 1 OFFSET 2',
        params: [],
      },
      'The first invoice of customer 5': {
        sql: 'SELECT * FROM music."Invoice" WHERE "CustomerId" = $1 ORDER BY "InvoiceDate" LIMIT 1',
        params: [5],
      },
    };
    for (const [request, candidate] of Object.entries(right)) {
      const agents = queryGenerationAgents(dbs[1] as Database, {
        generator: () => ({ ...candidate, explanation: 'right' }),
      });
      const wf = queryGenerationWorkflow({ reviewTimeoutMs: 20, maxAttempts: 1 });
      const report = await testEngine({ agents }).start(wf, { request }).result;
      expect(report.status, `${request}: ${report.problems.join(' ')}`).toBe('answered');
    }
  });

  // Each was unanswered: "Orders per" read as "order by", "Category Name" as one word, the 2021 of "Audit 2021".
  it.each(TRADERS.slice(0, 3))('traders: answers %j right', async (...golden) => {
    const { outcome, sql } = await judge(dbs[3] as Database, golden);
    expect(outcome, `${golden[0]} -> ${sql}`).toBe('right');
  });

  const cases = [
    ...SAMPLE.map((g) => ['sample', 0, g] as const),
    ...MUSIC.map((g) => ['music', 1, g] as const),
    ...RENTAL.map((g) => ['rental', 2, g] as const),
    ...TRADERS.map((g) => ['traders', 3, g] as const),
  ];
  it.each(cases)('%s: never answers wrong: %#', async (set, db, golden) => {
    const { outcome, sql } = await judge(dbs[db] as Database, golden);
    if (process.env.GOLDEN_VERBOSE && outcome !== 'right') console.log(outcome, golden[0], sql);
    outcomes.push({ set, request: golden[0], outcome });
    expect(outcome, `${golden[0]} -> ${sql}`).not.toBe('wrong');
  });
});
