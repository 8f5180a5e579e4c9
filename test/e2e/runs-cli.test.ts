import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { template as migrationTemplate } from '../../machines/migration.js';
import { pgliteDatabase } from '../../src/db/index.js';
import { seedSample } from '../../src/db/sample/index.js';
import {
  type Engine,
  type EngineOptions,
  postgresStore,
  sqliteStore,
  type WorkflowRun,
  workflow,
} from '../../src/index.js';
import { buildCli, root, runCli } from '../support/cli.js';
import { testEngine } from '../support/engine.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

// A private build, as `npm run build` makes dist/ (same layout: bundle/cli.js), so this file does not race another
// e2e file rebuilding dist/ at the same time.
const out = join(root, 'node_modules/.cache/flowstate-runs-cli-test');
const main = join(out, 'bundle/cli.js');
const flowstate = (...args: string[]) => runCli(main, args, 60_000);

const dir = mkdtempSync(join(tmpdir(), 'flowstate-runs-cli-'));
const file = join(dir, 'runs.db');
const store = `sqlite:${file}`;

const review = workflow('cli-review')
  .step('review', { retry: { attempts: 1 }, escalate: { to: 'human', timeoutMs: 600_000 } })
  .build();
const approval = workflow('cli-approval')
  .waitFor('approval', { event: 'approved', schema: z.object({ by: z.string() }), timeoutMs: 600_000 })
  .step('after', { input: 'results.approval' })
  .build();
const slow = workflow('cli-slow').step('work').build();

/** Waits on the abort signal: a step that runs until the run is cancelled or stopped. */
const forever = (_input: unknown, ctx: { signal: AbortSignal }) =>
  new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
const agents = {
  review: () => {
    throw new Error('needs a human');
  },
  after: ({ by }: { by: string }) => `approved by ${by}`,
  work: forever,
};
/** An engine that owns runs in this process; the CLI's signals reach it through the store's inbox. */
const owner = (options: EngineOptions) =>
  testEngine({ agents, workflows: [review, approval, slow], inbox: { pollMs: 20 }, ...options });

/** Polls an async check every 20 ms until it holds (10 s at most). */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  for (const started = Date.now(); Date.now() - started < ms; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}
const statusOf = async (engine: Engine, id: string) => (await engine.get(id))?.status;
const settled = (run: WorkflowRun) =>
  run.result.then(
    (output) => ({ ok: true, output }),
    (error: Error) => ({ ok: false, error }),
  );

let engine: Engine;
const runs: Record<string, WorkflowRun> = {};

beforeAll(async () => {
  buildCli(out);
  expect(existsSync(main)).toBe(true);
  engine = owner({ store: sqliteStore(file), lease: { owner: 'test-owner' } });
  runs.review = engine.start(review, {}, { id: 'r-review' });
  runs.wait = engine.start(approval, {}, { id: 'r-wait' });
  runs.slow = engine.start(slow, {}, { id: 'r-slow' });
  for (const run of Object.values(runs)) void run.result.catch(() => {});
  await eventually(async () => (await statusOf(engine, 'r-review')) === 'waiting');
  await eventually(async () => (await statusOf(engine, 'r-wait')) === 'waiting');
  await eventually(async () => (await statusOf(engine, 'r-slow')) === 'running');
}, 120_000);

afterAll(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('flowstate runs, on a SQLite store with a live owner', () => {
  it('list --json lists the runs as one JSON document; --status and --workflow filter', async () => {
    const ran = await flowstate('runs', 'list', '--store', store, '--json');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    const listed = JSON.parse(ran.stdout) as Array<Record<string, unknown>>;
    // Oldest first, ties (runs started in the same millisecond) by id.
    const oldestFirst = [...listed].sort(
      (a, b) => Number(a.createdAt) - Number(b.createdAt) || (String(a.id) < String(b.id) ? -1 : 1),
    );
    expect(listed).toEqual(oldestFirst);
    expect(listed.map((r) => [r.id, r.workflow, r.status, r.owner]).sort()).toEqual([
      ['r-review', 'cli-review', 'waiting', 'test-owner'],
      ['r-slow', 'cli-slow', 'running', 'test-owner'],
      ['r-wait', 'cli-approval', 'waiting', 'test-owner'],
    ]);
    const waiting = await flowstate('runs', 'list', '--store', store, '--status', 'waiting,done', '--json');
    expect((JSON.parse(waiting.stdout) as Array<{ id: string }>).map((r) => r.id).sort()).toEqual([
      'r-review',
      'r-wait',
    ]);
    const one = await flowstate('runs', 'list', '--store', store, '--workflow', 'cli-slow', '--limit', '5');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+UPDATED\s+OWNER\n/);
    expect(one.stdout).toMatch(/^r-slow\s+cli-slow\s+running\s+\S+\s+test-owner \(lease until .*\)$/m);
    expect(one.stdout).toMatch(/^1 run$/m);
  });

  it('show prints the record and the pending deadlines; --json as one document', async () => {
    const ran = await flowstate('runs', 'show', 'r-review', '--store', store, '--json');
    expect(ran.code).toBe(0);
    const shown = JSON.parse(ran.stdout) as {
      run: Record<string, unknown>;
      timers: Array<Record<string, unknown>>;
    };
    expect(shown.run).toMatchObject({ id: 'r-review', workflow: 'cli-review', status: 'waiting' });
    expect(shown.run.owner).toBe('test-owner');
    expect(shown.run.version).toBe(review.version);
    expect(shown.run).not.toHaveProperty('snapshot');
    expect(shown.timers).toEqual([
      expect.objectContaining({ runId: 'r-review', stepPath: 'review', kind: 'escalation' }),
    ]);
    const text = await flowstate('runs', 'show', 'r-review', '--store', store);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('run r-review\n');
    expect(text.stdout).toMatch(/^ {2}status +waiting$/m);
    expect(text.stdout).toMatch(/^ {2}owner +test-owner \(lease until /m);
    expect(text.stdout).toMatch(/^ {2}timer +escalation of 'review' due /m);
    expect(text.stdout).toContain('flowstate runs decide r-review review --action retry|skip|abort');
  });

  it('decide on a step that is not escalated exits 1 with the owner’s message', async () => {
    const ran = await flowstate(
      'runs',
      'decide',
      'r-wait',
      'approval',
      '--action',
      'retry',
      '--store',
      store,
    );
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain("Step 'approval' is not waiting for a decision");
    expect(await statusOf(engine, 'r-wait')).toBe('waiting');
  });

  it('decide --action skip --value resolves the escalation on the owner, whose run finishes with the value', async () => {
    const ran = await flowstate(
      'runs',
      'decide',
      'r-review',
      'review',
      '--action',
      'skip',
      '--value',
      '"ok"',
      '--store',
      store,
    );
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(ran.stdout).toContain("run r-review: decision 'skip' applied at 'review'");
    await expect(runs.review?.result).resolves.toEqual({ review: 'ok' });
    await eventually(async () => (await statusOf(engine, 'r-review')) === 'done');
    const shown = JSON.parse(
      (await flowstate('runs', 'show', 'r-review', '--store', store, '--json')).stdout,
    );
    expect(shown.run).toMatchObject({ status: 'done', output: { review: 'ok' } });
    expect(shown.timers).toEqual([]);
  });

  it('send refuses a bad payload (exit 1, the owner’s validation message) and an event no step takes', async () => {
    const bad = await flowstate('runs', 'send', 'r-wait', '{"type":"approved","by":1}', '--store', store);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INPUT_INVALID');
    const unknown = await flowstate('runs', 'send', 'r-wait', '{"type":"rejected"}', '--store', store);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("run r-wait took no 'rejected' event");
    expect(await statusOf(engine, 'r-wait')).toBe('waiting');
  });

  it('send delivers an event to the owner’s waitFor step and the run moves on', async () => {
    const ran = await flowstate('runs', 'send', 'r-wait', '{"type":"approved","by":"ann"}', '--store', store);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(ran.stdout).toContain("run r-wait: event 'approved' delivered");
    await expect(runs.wait?.result).resolves.toEqual({ approval: { by: 'ann' }, after: 'approved by ann' });
  });

  it('cancel ends a run cancelled', async () => {
    const ran = await flowstate('runs', 'cancel', 'r-slow', '--reason', 'by hand', '--store', store);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    const ended = await settled(runs.slow as WorkflowRun);
    expect(ended.ok).toBe(false);
    await eventually(async () => (await statusOf(engine, 'r-slow')) === 'cancelled');
    const again = await flowstate('runs', 'cancel', 'r-slow', '--store', store);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already ended (cancelled)');
  });

  it.each([
    [['show', 'nope']],
    [['decide', 'nope', 'review', '--action', 'retry']],
    [['send', 'nope', '{"type":"x"}']],
    [['cancel', 'nope']],
    [['resume', 'nope']],
  ])('%j: an unknown run exits 2', async (args) => {
    const ran = await flowstate('runs', ...args, '--store', store);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe('flowstate: no run nope in the store\n');
  });

  // Each mistake, and whether `--store <file>` is added to it.
  it.concurrent.each([
    [
      ['list', '--store', 'mysql://localhost/x'],
      "--store: expected sqlite:<path> or postgres://..., got 'mysql://localhost/x'",
    ],
    [['list', '--store', 'postgres://'], "--store: 'postgres://' names no host"],
    [['list', '--store', 'sqlite:'], "--store: 'sqlite:' names no file"],
    [['list', '--store', `sqlite:${join(dir, 'missing.db')}`], `no store at ${join(dir, 'missing.db')}`],
    [['list'], 'missing --store <url>', false],
    [[], "missing <subcommand> for 'runs'"],
    [['bogus'], "unknown subcommand 'runs bogus'"],
    [['list', '--bogus'], "unknown option '--bogus' for 'runs list'"],
    [['list', '--action', 'skip'], "unknown option '--action' for 'runs list'"],
    [['show'], "missing <run> for 'runs show'"],
    [['show', 'a', 'b'], "unexpected argument 'b' for 'runs show'"],
    [['list', '--status', 'sleeping'], "--status: unknown status 'sleeping'"],
    [['list', '--limit', '0'], "--limit takes a positive whole number, got '0'"],
    [['decide', 'r1', 'review'], 'missing --action retry|skip|abort'],
    [['decide', 'r1', 'review', '--action', 'later'], "--action is retry, skip or abort, got 'later'"],
    [
      ['decide', 'r1', 'review', '--action', 'skip', '--value', 'ok'],
      `--value is not valid JSON (a string is quoted: '"ok"')`,
    ],
    [['decide', 'r1', 'review', '--action', 'retry', '--value', '1'], '--value goes with --action skip'],
    [['send', 'r1', '{nope'], '<event-json> is not valid JSON'],
    [['send', 'r1', '[1]'], '<event-json> is a JSON object'],
    [['send', 'r1', '{"by":"ann"}'], '<event-json> needs a string "type"'],
    [['cancel', 'r1', '--timeout', 'soon'], "--timeout takes a positive whole number, got 'soon'"],
  ] as Array<[string[], string, boolean?]>)(
    '%j is a usage mistake: exit 2 with one line',
    async (args, message, withStore = true) => {
      const ran = await flowstate(
        'runs',
        ...args,
        ...(withStore && !args.includes('--store') ? ['--store', store] : []),
      );
      expect(ran.code).toBe(2);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toContain(`flowstate: ${message}`);
      expect(ran.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'missing.db'))).toBe(false);
    },
  );

  it('reads the store from FLOWSTATE_STORE when --store is absent', async () => {
    process.env.FLOWSTATE_STORE = store;
    try {
      const ran = await flowstate('runs', 'list', '--json');
      expect(ran.code).toBe(0);
      expect((JSON.parse(ran.stdout) as unknown[]).length).toBeGreaterThanOrEqual(3);
    } finally {
      delete process.env.FLOWSTATE_STORE;
    }
  });
});

describe('flowstate runs, on runs no live engine owns', () => {
  const orphans = join(dir, 'orphans.db');
  const at = `sqlite:${orphans}`;

  it('a signal no engine applies exits 4 and stays queued; the next owner applies it', async () => {
    const first = owner({ store: sqliteStore(orphans) });
    first.start(approval, {}, { id: 'o-wait' }).result.catch(() => {});
    await eventually(async () => (await statusOf(first, 'o-wait')) === 'waiting');
    // close() hands the run over: its lease is released and no engine owns it now.
    await first.close();
    // Named, so running the command again (after exit 4) cannot apply it twice.
    const send = () =>
      flowstate(
        'runs',
        'send',
        'o-wait',
        '{"type":"approved","by":"bo"}',
        '--timeout',
        '300',
        '--signal-id',
        'approve-o-wait',
        '--store',
        at,
      );
    const ran = await send();
    expect(ran.code).toBe(4);
    expect(ran.stderr).toContain('flowstate: no engine applied the signal to run o-wait in time');
    expect(ran.stderr).toContain('it stays queued');
    expect((await send()).code).toBe(4);
    const next = owner({ store: sqliteStore(orphans) });
    try {
      const resumed = await next.resume('o-wait');
      await expect(resumed.result).resolves.toEqual({ approval: { by: 'bo' }, after: 'approved by bo' });
    } finally {
      await next.close();
    }
    // Run again once applied: the first answer, though the run ended since.
    const again = await send();
    expect(again.stdout).toContain("run o-wait: event 'approved' delivered");
    expect(again.code).toBe(0);
  });

  it('cancel ends a run of a workflow the CLI does not know in the store', async () => {
    const first = owner({ store: sqliteStore(orphans) });
    first.start(slow, {}, { id: 'o-slow' }).result.catch(() => {});
    await eventually(async () => (await statusOf(first, 'o-slow')) === 'running');
    await first.close();
    const ran = await flowstate('runs', 'cancel', 'o-slow', '--reason', 'owner gone', '--store', at);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    const shown = JSON.parse((await flowstate('runs', 'show', 'o-slow', '--store', at, '--json')).stdout);
    expect(shown.run).toMatchObject({
      status: 'cancelled',
      error: { message: expect.stringContaining('owner gone') },
    });
  });

  it('resume refuses a run of an unknown workflow, and a run that ended, with exit 2', async () => {
    const first = owner({ store: sqliteStore(orphans) });
    first.start(review, {}, { id: 'o-review' }).result.catch(() => {});
    await eventually(async () => (await statusOf(first, 'o-review')) === 'waiting');
    await first.close();
    const unknown = await flowstate('runs', 'resume', 'o-review', '--store', at);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      "run o-review is a run of workflow 'cli-review', which is not a built-in template",
    );
    const ended = await flowstate('runs', 'resume', 'o-slow', '--store', at);
    expect(ended.code).toBe(2);
    expect(ended.stderr).toContain('run o-slow already ended (cancelled)');
  });

  it('a template run: resume exits 3 while it waits; decide approves it; resume runs it to the end', async () => {
    const db = await pgliteDatabase();
    await seedSample(db);
    const first = testEngine({
      store: sqliteStore(orphans),
      agents: migrationTemplate.agents(db),
      workflows: [migrationTemplate.definition],
    });
    first
      .start(migrationTemplate.definition, { sql: 'DROP TABLE audit_log' }, { id: 'o-migration' })
      .result.catch(() => {});
    try {
      await eventually(async () => (await statusOf(first, 'o-migration')) === 'waiting');
    } finally {
      await first.close();
      await db.close();
    }
    // Stored by another release (another template version): refused, and left exactly as it was. Before, the
    // engine took it and marked it failed (no migration for it), ending the run a user meant to finish.
    const raw = new Sqlite(orphans);
    const stored = () =>
      raw
        .prepare('SELECT status, version, snapshot, lease_until FROM flowstate_runs WHERE id = ?')
        .get('o-migration');
    const current = (stored() as { version: string }).version;
    raw.prepare("UPDATE flowstate_runs SET version = 'release-0' WHERE id = 'o-migration'").run();
    const before = stored();
    const refused = await flowstate('runs', 'resume', 'o-migration', '--store', at);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `Run 'o-migration' is of migration version release-0; this Flowstate has version ${current}: nothing was applied`,
    );
    expect(stored()).toEqual(before);
    raw.prepare('UPDATE flowstate_runs SET version = ? WHERE id = ?').run(current, 'o-migration');
    raw.close();
    const waiting = await flowstate('runs', 'resume', 'o-migration', '--store', at);
    expect(waiting.code).toBe(3);
    expect(waiting.stderr).toContain(
      "flowstate: run o-migration waits on a human at 'approval'; handed back to the store.",
    );
    // No live owner: the CLI takes the run, applies the decision, commits it and hands the run back.
    const decided = await flowstate(
      'runs',
      'decide',
      'o-migration',
      'approval',
      '--action',
      'skip',
      '--value',
      '{"approved":true,"by":"ann"}',
      '--store',
      at,
    );
    expect(decided).toMatchObject({ code: 0, stderr: '' });
    // No engine runs it: the output says how it goes on (found by a new user: nothing said so).
    expect(decided.stdout).toContain(`no engine runs it now: 'flowstate runs resume`);
    const listed = JSON.parse(
      (await flowstate('runs', 'list', '--store', at, '--json', '--workflow', 'migration')).stdout,
    );
    expect(listed).toEqual([
      expect.objectContaining({ id: 'o-migration', status: 'running', leaseUntil: 0 }),
    ]);
    const resumed = await flowstate('runs', 'resume', 'o-migration', '--json', '--store', at);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'applied', approval: { by: 'ann' } });
    const shown = JSON.parse(
      (await flowstate('runs', 'show', 'o-migration', '--store', at, '--json')).stdout,
    );
    expect(shown.run.status).toBe('done');
  }, 60_000);
});

describe('flowstate runs, on a PostgreSQL store', () => {
  let server: PostgresServer | undefined;
  let pgOwner: Engine | undefined;
  afterAll(async () => {
    await pgOwner?.close();
    await server?.stop();
  });

  it('lists the runs and delivers an event to their owner', async () => {
    server = await startPostgres();
    const url = await createDatabase(server, `flowstate_runs_cli_${process.pid}`);
    pgOwner = owner({ store: postgresStore(url), lease: { owner: 'pg-owner' } });
    const run = pgOwner.start(approval, {}, { id: 'p-wait' });
    run.result.catch(() => {});
    await eventually(async () => (await statusOf(pgOwner as Engine, 'p-wait')) === 'waiting');
    const listed = await flowstate('runs', 'list', '--store', url, '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: 'p-wait', status: 'waiting', owner: 'pg-owner' }),
    ]);
    const postgresql = url.replace(/^postgres:/, 'postgresql:');
    const sent = await flowstate(
      'runs',
      'send',
      'p-wait',
      '{"type":"approved","by":"cy"}',
      '--store',
      postgresql,
    );
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    await expect(run.result).resolves.toEqual({ approval: { by: 'cy' }, after: 'approved by cy' });
  }, 60_000);

  it('a server that cannot be reached exits 1 with one line', async () => {
    const ran = await flowstate('runs', 'list', '--store', 'postgres://nobody@127.0.0.1:1/none');
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^flowstate: .+\n$/);
  });
});
