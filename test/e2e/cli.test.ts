import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, root, runCli } from '../support/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const main = join(root, 'dist/bundle/cli.js');
/** Runs the built CLI from dist/, as shipped (the package's `bin`). */
const flowstate = (...args: string[]) => runCli(main, args, 15_000);

describe('the flowstate command', () => {
  // The CLI is tested as shipped, from dist/: build it once, as `npm run build` does (the tsc bin, without npx).
  beforeAll(() => {
    buildCli();
  }, 60_000);

  it('prints help listing the commands and options, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const ran = await flowstate(flag);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain('Usage: flowstate <command> [options]');
      expect(ran.stdout).toMatch(/^\s+demo\s+run a demo workflow/m);
      expect(ran.stdout).toContain('--json');
      expect(ran.stderr).toBe('');
    }
  });

  it('prints the package version', async () => {
    for (const flag of ['--version', '-v']) {
      const ran = await flowstate(flag);
      expect(ran).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    }
  });

  it.each([
    [['bogus'], "unknown command 'bogus'"],
    [[], 'missing command'],
    [['demo', '--bogus'], "unknown option '--bogus' for 'demo'"],
    [['demo', 'extra'], "unexpected argument 'extra' for 'demo'"],
    [['demo', '--json=yes'], "option '--json' takes no value"],
  ])('refuses %j with one line on stderr and exit 2', async (args, message) => {
    const ran = await flowstate(...args);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(`flowstate: ${message}. Run 'flowstate --help' for usage.\n`);
  });

  it('demo --json prints only the output, as parseable JSON', async () => {
    const ran = await flowstate('demo', '--json');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    const output = JSON.parse(ran.stdout) as Record<string, unknown>;
    expect(Object.keys(output).sort()).toEqual([
      'findings',
      'plan',
      'revisions',
      'risk',
      'summary',
      'verdict',
    ]);
    expect(output).toMatchObject({ verdict: 'approve-with-changes', risk: 'high', revisions: 2 });
    // One lint warning, then one finding per large table from the map step.
    expect(output.findings).toHaveLength(4);
  });

  it('demo prints live progress for every step, the retry, the branch and the loop rounds', async () => {
    const ran = await flowstate('demo');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    const lines = ran.stdout.split('\n');
    const steps = ['introspect', 'lint', 'explain', 'indexAdvice', 'draft', 'critique', 'report'];
    for (const step of [...steps, ...[0, 1, 2, 3].map((i) => `checkTables[${i}]`)]) {
      expect(lines).toContain(`  ▶ ${step}`);
      expect(lines.some((l) => new RegExp(`^  ✓ ${step.replace(/[[\]]/g, '\\$&')} \\d+ ms`).test(l))).toBe(
        true,
      );
    }
    expect(lines).toContain('  ↻ lint attempt 1 failed (linter connection reset); retry 2 in 100 ms');
    expect(lines).toContain('  ▶ lint attempt 2');
    expect(lines).toContain('  ⑂ triage → when risky');
    expect(lines).toContain('  ↺ refine round 2/3');
    // A step's end is printed before the step after it starts.
    expect(lines.indexOf('  ▶ lint')).toBeGreaterThan(lines.findIndex((l) => l.startsWith('  ✓ introspect')));
    expect(ran.stdout).toMatch(/^done in \d+ ms: 13 steps, 1 retry$/m);
    expect(ran.stdout).toContain('"verdict": "approve-with-changes"');
  });

  it('demo --fail reports the failed run on stderr and exits 1', async () => {
    const ran = await flowstate('demo', '--fail', '--json');
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(
      "flowstate: the demo run failed: [STEP_FAILED] Step 'lint' failed after 3 attempts (cause: linter connection reset)\n",
    );
  });
});
