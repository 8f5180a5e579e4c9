import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, sqliteStore, workflow } from '../../src/index.js';
import { buildCli, root, runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'flowstate-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The operators' CLI as shipped, built once for this file. */
let cli: string;
beforeAll(() => {
  cli = buildCli(join(root, 'node_modules/.cache/flowstate-canary-test'));
}, 120_000);

const CANARY = 'sk-canary-7f3a9c';

/**
 * A secret input travels everywhere a value can: into a step's input, inside a larger string in an output, into a
 * journal entry, into an agent's error message (retried, then escalated and skipped). Then every table, every log
 * line at debug, every step event and the run's error are searched for it.
 */
it.each([false, true])('never lets a secret out in clear (sealing hook: %s)', async (withHook) => {
  const path = join(dir, `canary-${withHook}.db`);
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const wf = workflow('canary', { secrets: ['input.apiKey'] })
    .step('auth', { input: 'input' })
    .step('call', {
      input: 'results.auth',
      retry: { attempts: 2, initialMs: 1, jitter: 0 },
      escalate: { to: 'human', timeoutMs: 60_000 },
    })
    .step('fail', { input: 'results.auth', retry: { attempts: 1 } })
    .build();
  const engine = createEngine({
    store: sqliteStore(path),
    logger,
    lease: { owner: 'canary' },
    ...(withHook
      ? {
          secrets: {
            seal: (v: string) => Buffer.from(v).toString('base64'),
            open: (t: string) => Buffer.from(t, 'base64').toString(),
          },
        }
      : {}),
    agents: {
      auth: ({ apiKey }: { apiKey: string }) => ({ header: `Bearer ${apiKey}`, keys: { [apiKey]: true } }),
      call: ({ header }: { header: string }) => {
        throw new Error(`401 for ${header}`);
      },
      fail: ({ header }: { header: string }) => {
        throw new Error(`still refused: ${header}`);
      },
    },
  });
  const run = engine.start(wf, { apiKey: CANARY, table: 'orders' }, { id: `canary-${withHook}` });
  const events: unknown[] = [];
  run.events$.subscribe((e) => events.push(e));
  for (let i = 0; i < 200 && run.waitingSteps().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(run.waitingSteps()).toEqual(['call']);
  run.resolveEscalation('call', { action: 'skip', value: null });
  const error = await run.result.catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'STEP_FAILED' });
  await engine.close();

  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path, { readonly: true });
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
  ).map((t) => t.name);
  const dump = tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t}`).all())).join('\n');
  db.close();
  expect(dump).toContain('orders');
  expect(dump).toContain('still refused');
  expect(lines.length).toBeGreaterThan(5);
  const store = `sqlite:${path}`;
  const shown = await runCli(cli, ['runs', 'show', `canary-${withHook}`, '--store', store, '--json'], 30_000);
  const listed = await runCli(cli, ['runs', 'list', '--store', store, '--json'], 30_000);
  expect([shown.code, listed.code]).toEqual([0, 0]);
  expect(shown.stdout).toContain('still refused');
  const places = {
    cli: shown.stdout + shown.stderr + listed.stdout + listed.stderr,
    store: dump,
    logs: lines.join('\n'),
    events: JSON.stringify(events),
    error: `${String(error)} ${JSON.stringify(error)} ${JSON.stringify((error as { cause?: unknown }).cause, Object.getOwnPropertyNames((error as { cause?: object }).cause ?? {}))}`,
  };
  for (const [where, text] of Object.entries(places))
    expect({ where, leaked: text.includes(CANARY) }).toEqual({ where, leaked: false });
});
