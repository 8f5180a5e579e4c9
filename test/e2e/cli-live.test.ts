import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/persistence/index.js';
import { buildCli, root, runCli } from '../support/cli.js';

// A private build (same layout as dist/), so this file does not race another test file rebuilding dist/.
const out = join(root, 'node_modules/.cache/flowstate-cli-live-test');
const main = join(out, 'bundle/cli.js');
const flowstate = (...args: string[]) => runCli(main, args, 60_000);

interface Interrupted {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from the SIGINT to the exit. */
  readonly exitMs: number;
}

/**
 * Runs the CLI as a child process and sends it SIGINT once `when` appears on its stdout (`delayMs` later), as a
 * terminal does on Ctrl-C. Never rejects.
 */
function interruptAt(args: readonly string[], when: string, delayMs = 0, env: NodeJS.ProcessEnv = {}) {
  return new Promise<Interrupted>((resolve) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd: root,
      env: { ...process.env, FLOWSTATE_LOG_LEVEL: 'silent', NO_COLOR: '1', FLOWSTATE_HISTORY: 'off', ...env },
    });
    let stdout = '';
    let stderr = '';
    let sentAt: number | undefined;
    const kill = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (sentAt === undefined && stdout.includes(when)) {
        sentAt = Number.POSITIVE_INFINITY;
        setTimeout(() => {
          sentAt = Date.now();
          child.kill('SIGINT');
        }, delayMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr, exitMs: Date.now() - (sentAt ?? Date.now()) });
    });
  });
}

describe('the flowstate CLI, live', () => {
  beforeAll(() => {
    buildCli(out);
  }, 180_000);

  it('run prints the template, then that PGlite starts, before PGlite starts', async () => {
    const ran = await flowstate('run', 'schema-analysis');
    expect(ran.code).toBe(0);
    const lines = ran.stdout.split('\n');
    expect(lines[0]).toMatch(/^schema-analysis: /);
    expect(lines[1]).toBe('starting the embedded PostgreSQL (PGlite, in memory)…');
    expect(lines[2]).toMatch(/^database: PGlite in memory, sample data seeded/);
    // Piped: plain lines, the step log and the percent with the ETA, then the reporter's closing line.
    expect(ran.stdout).not.toContain('\u001b');
    expect(lines).toContain('  ▶ introspect');
    expect(lines.some((l) => /^\[ {2}0%\] 0 done, 1 running, \d+ pending; ETA /.test(l))).toBe(true);
    expect(lines.some((l) => /^✓ schema-analysis done in .+: \d+ steps done$/.test(l))).toBe(true);
    expect(ran.stdout).not.toMatch(/when\d/);
  }, 90_000);

  it.each([
    ['as the command starts, before PGlite opens', 'schema-analysis: ', 0],
    ['while PGlite opens', 'starting the embedded PostgreSQL', 150],
    ['once the database is seeded', 'database: ', 0],
    ['after a step ended', '✓ introspect', 0],
  ])(
    'Ctrl-C %s exits 130',
    async (_phase, when, delayMs) => {
      const ran = await interruptAt(['run', 'schema-analysis'], when, delayMs);
      expect({ code: ran.code, signal: ran.signal }).toEqual({ code: 130, signal: null });
      expect(ran.stderr).toContain('flowstate: interrupted (Ctrl-C)');
      expect(ran.stdout).not.toContain('Run with --json for the full report.');
      expect(ran.exitMs).toBeLessThan(10_000);
    },
    90_000,
  );

  it('Ctrl-C during a run cancels it and says so', async () => {
    const ran = await interruptAt(['run', 'schema-analysis'], '▶ introspect');
    expect(ran.code).toBe(130);
    expect(ran.stderr).toContain('cancelling the run');
    expect(ran.stderr).toContain(
      'flowstate: the schema-analysis run was cancelled: [CANCELLED] Interrupted (Ctrl-C)',
    );
  }, 90_000);

  it('Ctrl-C during the showcase stops it there, exit 130', async () => {
    const ran = await interruptAt(['showcase'], '[2/5]');
    expect(ran.code).toBe(130);
    expect(ran.stdout).not.toContain('[3/5]');
    expect(ran.stdout).not.toContain('showcase done');
  }, 90_000);

  it('the ETA of a second run starts from what the first one learned (a history file)', async () => {
    const history = join(mkdtempSync(join(tmpdir(), 'flowstate-history-')), 'durations.json');
    const eta = async () => {
      const ran = await interruptAt(['run', 'schema-analysis'], 'never printed', 0, {
        FLOWSTATE_HISTORY: history,
      });
      expect(ran.code).toBe(0);
      // The first progress line, whatever its percent: with learned durations of a few ms, the percent grows with the
      // time the run spends before its first line (at 4% on a quiet machine, past 10% under CI load).
      return /^\[ *\d+%\] .*; ETA (.+)$/m.exec(ran.stdout)?.[1];
    };
    // No expectedMs on the template: the first run starts from the default (1 s a step).
    expect(await eta()).toMatch(/^\d+\.\d s$/);
    const rows = JSON.parse(readFileSync(history, 'utf8')) as Array<{ workflow: string; path: string }>;
    expect(rows).toEqual(
      expect.arrayContaining([expect.objectContaining({ workflow: 'schema-analysis', path: 'introspect' })]),
    );
    // The runs above took well under a second a step: the second run's ETA says so.
    expect(await eta()).toMatch(/^\d+ ms$/);
  }, 120_000);

  it('run --store keeps the run: one that waits on a human stays waiting there, with the commands to go on', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'flowstate-run-store-')), 'runs.db');
    const store = sqliteStore(file);
    await store.listRuns({});
    await store.close();
    const url = `sqlite:${file}`;
    const ran = await flowstate(
      'run',
      'migration',
      '--input',
      '{"sql": "DROP TABLE audit_log"}',
      '--store',
      url,
    );
    expect(ran.code).toBe(3);
    const id = /the migration run (\S+) waits on a human decision at 'approval'/.exec(ran.stderr)?.[1];
    expect(id).toBeDefined();
    expect(ran.stderr).toContain(
      `decide: flowstate runs decide ${id} approval --action skip --value '{"approved": true, "by": "<your name>"}' --store '${url}'`,
    );
    const listed = await flowstate('runs', 'list', '--store', url, '--json');
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id, workflow: 'migration', status: 'waiting' }),
    ]);
    // What it says works: decided as printed, then resumed, the migration is applied and reports who approved it.
    const decided = await flowstate(
      ...['runs', 'decide', id as string, 'approval', '--action', 'skip'],
      ...['--value', '{"approved": true, "by": "ann"}', '--store', url],
    );
    expect(decided.code).toBe(0);
    const resumed = await flowstate('runs', 'resume', id as string, '--store', url);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('ann');
  }, 90_000);

  it('help <command> and <command> --help print that command’s help', async () => {
    for (const args of [
      ['help', 'run'],
      ['run', '--help'],
      ['run', 'migration', '-h'],
    ]) {
      const ran = await flowstate(...args);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(/^Usage: flowstate run <template> \[options\]/);
      expect(ran.stdout).toContain('--inspect[=<url>]');
    }
    const runs = await flowstate('runs', 'list', '--help');
    expect(runs.stdout).toMatch(/^Usage: flowstate runs <subcommand> \[options\]/);
    expect(runs.stdout).toContain('flowstate runs decide <run> <stepPath>');
    expect((await flowstate('help', 'bogus')).code).toBe(2);
  });

  it('--inspect=<url> on a relay that does not answer: one line on stderr, no wait', async () => {
    const started = Date.now();
    const ran = await flowstate('run', 'schema-analysis', '--json', '--inspect=ws://127.0.0.1:9');
    const elapsed = Date.now() - started;
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toHaveProperty('findings');
    expect(ran.stderr).toBe(
      'flowstate: no inspector relay at ws://127.0.0.1:9 (connection refused); running without it. Start the relay first: docs/inspector.md\n',
    );
    const plain = Date.now();
    await flowstate('run', 'schema-analysis', '--json');
    // At most the probe's half second more than a run without --inspect (and the machine's noise).
    expect(elapsed - (Date.now() - plain)).toBeLessThan(2_500);
  }, 120_000);
});
