import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase } from '../../src/db/pglite.js';
import { PLANTED_PROBLEMS } from '../../src/db/sample/index.js';
import { buildCli, root, runCli } from '../support/cli.js';

// A private build, as `npm run build` makes dist/ (same layout: bundle/cli.js), so this file does not race
// test/e2e/cli.test.ts rebuilding dist/ at the same time.
const out = join(root, 'node_modules/.cache/flowstate-templates-cli-test');
const main = join(out, 'bundle/cli.js');

/** Runs the privately built CLI. */
const flowstate = (...args: string[]) => runCli(main, args, 30_000);

const TEMPLATES = ['schema-analysis', 'data-validation', 'migration', 'query-generation', 'optimization'];

describe('flowstate template commands', () => {
  beforeAll(() => {
    buildCli(out);
    expect(existsSync(main)).toBe(true);
  }, 120_000);

  it('list prints the five templates with a description each, in showcase order', async () => {
    const ran = await flowstate('list');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    const ids = ran.stdout
      .split('\n')
      .filter((l) => /^\S+\s{2,}\S/.test(l))
      .map((l) => l.split(/\s+/)[0]);
    expect(ids).toEqual(TEMPLATES);
  });

  it('describe prints the steps and a Mermaid stateDiagram-v2 block', async () => {
    const ran = await flowstate('describe', 'schema-analysis');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('Steps:\n  introspect: schema-introspect');
    expect(ran.stdout).toMatch(
      /```mermaid\nstateDiagram-v2\n[\s\S]*state severity <<choice>>[\s\S]*\n```\n$/,
    );
  });

  it('run schema-analysis --json prints only the report, which finds the planted problems', async () => {
    const ran = await flowstate('run', 'schema-analysis', '--json');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    const report = JSON.parse(ran.stdout) as { findings: Array<{ id: string }>; grade: string };
    const ids = report.findings.map((f) => f.id);
    const planted = PLANTED_PROBLEMS.filter((p) => p.foundBy === 'schema-analysis').map((p) => p.id);
    expect(planted.length).toBeGreaterThan(0);
    expect(ids).toEqual(expect.arrayContaining(planted));
  });

  it('run --inspect still exits when no inspector relay listens', async () => {
    const ran = await flowstate('run', 'schema-analysis', '--json', '--inspect-url', 'ws://127.0.0.1:9');
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toHaveProperty('findings');
  });

  it('run refuses an invalid input with the zod path of each problem, exit 2', async () => {
    const ran = await flowstate('run', 'data-validation', '--input', '{"threshold": 2, "rules": [{}]}');
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain("flowstate: invalid input for 'data-validation':");
    expect(ran.stderr).toMatch(/^ {2}- input\.threshold: /m);
    expect(ran.stderr).toMatch(/^ {2}- input\.rules\[0\]\.\w+: /m);
  });

  // Found by a new user: the run waited for the store without a word (its writes are retried), forever.
  it('run says at once that a --store it cannot reach is out of reach, exit 1', async () => {
    const ran = await flowstate('run', 'query-generation', '--store', 'postgres://x@127.0.0.1:1/x');
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(
      /^flowstate: (\[STORE_UNAVAILABLE\] )?--store: cannot reach the store \(.*ECONNREFUSED/,
    );
  });

  it('run refuses an --agents module whose agent is no function, naming it, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-agents-'));
    const module = join(dir, 'agents.mjs');
    writeFileSync(module, "export const agents = { 'query-generator': 5 };\n");
    const ran = await flowstate('run', 'query-generation', '--agents', module);
    expect(ran.stderr).toContain("'query-generator' (number) is not an agent");
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    expect([1, 2]).toContain(ran.code);
  });

  it('run reads --input from a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'flowstate-input-')), 'input.json');
    writeFileSync(file, JSON.stringify({ schema: '' }));
    const ran = await flowstate('run', 'schema-analysis', '--input', file);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/^ {2}- input\.schema: /m);
  });

  it.each([
    [['run', 'bogus'], "unknown template 'bogus' (templates: schema-analysis, data-validation"],
    [['describe', 'bogus'], "unknown template 'bogus'"],
    [
      ['run', 'schema-analysis', '--db', 'mysql://localhost/shop'],
      "--db: Unsupported database URL scheme 'mysql:'",
    ],
    [['run', 'schema-analysis', '--db', 'postgres://'], '--db: Invalid database URL'],
    [['run', 'schema-analysis', '--input', '{nope'], '--input: the inline JSON is not valid JSON'],
    [['run'], "missing <template> for 'run'"],
    [['run', 'schema-analysis', '--db'], "option '--db' needs a value"],
    // Found by a new user: a stack trace (PGlite's mkdir).
    [
      ['run', 'schema-analysis', '--db', '/nonexistent/dir/pg'],
      '--db: no directory /nonexistent/dir to keep',
    ],
    // Found by a new user: a typo opened a new, empty database, on which every template scored 100/100.
    [
      ['run', 'schema-analysis', '--db', './typo-dir'],
      `--db: no PGlite database at ${join(root, 'typo-dir')} (a typo? --seed creates one there`,
    ],
  ])('%j exits 2 with one line on stderr', async (args, message) => {
    const ran = await flowstate(...args);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain(`flowstate: ${message}`);
    expect(ran.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('run --seed --db <new dir> makes a PGlite database there, with the sample data; later runs open it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'flowstate-pglite-')), 'shop');
    const made = await flowstate('run', 'schema-analysis', '--db', dir, '--seed', '--json');
    expect(made.code).toBe(0);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    const reopened = await flowstate('run', 'schema-analysis', '--db', dir, '--json');
    expect(reopened.code).toBe(0);
    const report = JSON.parse(reopened.stdout) as { findings: unknown[] };
    expect(report.findings.length).toBeGreaterThan(0);
    // --seed again: the sample is there; nothing is dropped, the user is told (it printed "cannot seed", exit 1).
    const again = await flowstate('run', 'schema-analysis', '--db', dir, '--seed');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("--seed: the database has the sample's tables already");
  }, 120_000);

  it('run exits 3 and says which step waits when a destructive migration is not approved', async () => {
    const ran = await flowstate('run', 'migration', '--input', '{"sql": "DROP TABLE audit_log"}');
    expect(ran.code).toBe(3);
    expect(ran.stdout).toContain('  ⚑ approval escalated (Destructive migration');
    expect(ran.stderr).toContain("flowstate: the migration run waits on a human decision at 'approval'");
    expect(ran.stderr).toContain('"approvedBy"');
    // Why it waits: the escalation's reason, as a human deciding would read it.
    expect(ran.stderr).toMatch(/^ {2}why \(approval\): Destructive migration: statement 1: Drops audit_log/m);
    // PGlite alone takes over 10 s to start on a loaded 2-core machine.
  }, 60_000);

  it('run exits 3 over the data validation threshold and says which rules broke it', async () => {
    const ran = await flowstate('run', 'data-validation', '--input', '{"threshold": 0}');
    expect(ran.code).toBe(3);
    expect(ran.stderr).toContain("flowstate: the data-validation run waits on a human decision at 'review'");
    expect(ran.stderr).toMatch(
      /^ {2}why \(review\): .*more than the 0\.00% allowed\. Broken: \w+: \w+ \(\d+ rows?\)/m,
    );
  }, 60_000);

  // Found by a tester: a query planned generically (no values) is never run, and printed `(0 → 0 ms)`.
  it('run optimization shows the estimated costs where it compared estimates, the times where it timed', async () => {
    const query = (params?: number[]) =>
      JSON.stringify({ queries: [{ sql: 'SELECT * FROM orders WHERE customer_id = $1', params }] });
    const generic = await flowstate('run', 'optimization', '--input', query());
    expect(generic.code, generic.stderr).toBe(0);
    expect(generic.stdout).toMatch(/"customer_id"\) {2}-- cost \d+ → [\d.]+, [\d.]+x$/m);
    expect(generic.stdout).not.toMatch(/→ [\d.]+ ms\)/);
    const timed = await flowstate('run', 'optimization', '--input', query([42]));
    expect(timed.code, timed.stderr).toBe(0);
    expect(timed.stdout).toMatch(/"customer_id"\) {2}-- [\d.]+x \([\d.]+ → [\d.]+ ms\)$/m);
  }, 60_000);

  // Found by a tester: on an empty database the default input waited for a human (exit 3) with "(it has: )".
  it('run query-generation on a database without tables ends unanswered saying why, exit 0', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'flowstate-empty-')), 'db');
    const db = await pgliteDatabase(dir);
    await db.close();
    const ran = await flowstate('run', 'query-generation', '--db', dir);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/: unanswered after 0 attempts/);
    expect(ran.stdout).toContain('The schema public has no tables');
    expect(ran.stdout).not.toContain('(it has: )');
  }, 60_000);

  it('paths and verify work on a template', async () => {
    const paths = await flowstate('paths', 'schema-analysis');
    expect(paths.code).toBe(0);
    expect(paths.stdout).toMatch(/^schema-analysis: \d+ paths? \(shortest\)/);
    const json = await flowstate('paths', 'query-generation', '--json');
    expect(json.code).toBe(0);
    expect(Array.isArray(JSON.parse(json.stdout))).toBe(true);
    const verified = await flowstate('verify', 'migration');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^migration: verified/);
    const unknown = await flowstate('verify', 'bogus');
    expect(unknown.code).toBe(2);
    const missing = await flowstate('verify', 'missing.json');
    expect(missing).toMatchObject({ code: 2, stdout: '' });
  });

  // Found by a new user: a file that was not JSON exited 1 (a missing one 2), with a multi-line error.
  it('verify and paths on a file that is not JSON or not a workflow exit 2 with one line, as a missing file does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-bad-files-'));
    try {
      const notJson = join(dir, 'not-json.json');
      writeFileSync(notJson, '{\n  "id": "x",\n}');
      const shape = join(dir, 'shape.json');
      writeFileSync(shape, '{"id": "x", "steps": 5}');
      const cases = [
        [notJson, `'${notJson}' is not valid JSON: Expected double-quoted property name at line 3, column 1`],
        [
          shape,
          `'${shape}' is not a workflow definition: steps: Invalid input: expected array, received number`,
        ],
      ];
      for (const command of ['verify', 'paths'])
        for (const [file, message] of cases) {
          expect(await flowstate(command, file as string)).toEqual({
            code: 2,
            stdout: '',
            stderr: `flowstate: ${message}\n`,
          });
        }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('showcase runs all five templates with progress and a summary each, exit 0', async () => {
    const ran = await flowstate('showcase');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    TEMPLATES.forEach((id, i) => {
      expect(ran.stdout).toContain(`[${i + 1}/5] ${id}: `);
    });
    expect(ran.stdout).toContain('  ▶ introspect');
    expect(ran.stdout).toMatch(/^showcase done in [\d.]+ s: schema-analysis ✓ .* optimization ✓ \d+ ms$/m);
  }, 40_000);
});
