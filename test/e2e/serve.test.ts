import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/index.js';
import type { StoredRun } from '../../src/persistence/types.js';
import { ensureChromium } from '../support/chromium.js';
import { buildPackage, root, runCli } from '../support/cli.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

// A private build (as `npm run build` makes it), so this file does not race another e2e file rebuilding dist/.
const out = join(root, 'node_modules/.cache/flowstate-serve-test');
const dir = mkdtempSync(join(tmpdir(), 'flowstate-serve-'));
const file = join(dir, 'runs.db');
/**
 * Where the page screenshots go: docs/ when asked (`FLOWSTATE_SCREENSHOTS=1 npx vitest run test/e2e/serve.test.ts`
 * refreshes the docs' pictures), else a scratch folder, so a test run never changes the checkout.
 */
const docs =
  process.env.FLOWSTATE_SCREENSHOTS === '1'
    ? join(root, 'docs')
    : mkdtempSync(join(tmpdir(), 'flowstate-shots-'));
let bundle = '';
let browser: Browser;
const children: ChildProcess[] = [];

/** Starts a process and collects its stdout lines; `line(re)` resolves with the first line matching. */
function start(args: string[]) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, FLOWSTATE_BUNDLE: bundle, FLOWSTATE_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let rest = '';
  child.stdout?.on('data', (d: Buffer) => {
    rest += d.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const line = async (re: RegExp, ms = 30_000): Promise<string> => {
    const started = Date.now();
    for (;;) {
      const found = lines.find((l) => re.test(l));
      if (found) return found;
      if (Date.now() - started > ms)
        throw new Error(`no line ${re} in ${ms} ms:\n${lines.join('\n')}\n${stderr}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { child, line, lines };
}

/** Starts `flowstate serve` on a store (a SQLite file or a PostgreSQL URL) and resolves with its URL. */
async function serve(store: string, ...extra: string[]) {
  const server = start([
    join(bundle, 'cli.js'),
    'serve',
    '--store',
    store.startsWith('postgres') ? store : `sqlite:${store}`,
    '--port',
    '0',
    '--workflows',
    'test/support/serve-workflows.mjs',
    ...extra,
  ]);
  const url = (
    /(http:\/\/\S+)/.exec(await server.line(/^flowstate serve: http/)) as RegExpExecArray
  )[1] as string;
  return { ...server, url };
}

const activeStates = (page: Page) => page.locator('#chart g.state.active text').allTextContents();

let pgServer: PostgresServer;
let pgUrl = '';

beforeAll(async () => {
  bundle = buildPackage(out);
  browser = await chromium.launch({ executablePath: ensureChromium(), headless: true });
  pgServer = await startPostgres();
  pgUrl = await createDatabase(pgServer, 'serve_e2e');
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGTERM');
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['SQLite', () => file],
  ['PostgreSQL', () => pgUrl],
])(
  'flowstate serve in a real browser (Chromium), on %s, runs owned by an engine in another process',
  (kind, target) => {
    it('lists the run, lights its active state as it moves, and lets an escalation resolved from the page finish it', async () => {
      const gates = mkdtempSync(join(dir, 'gates-'));
      const engine = start(['test/support/serve-engine.mjs', target(), gates, 'order-1']);
      await engine.line(/^READY/);
      const server = await serve(target(), '--token', 'secret-token');
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(server.url);
      const row = page.locator('tr[data-run="order-1"]');
      await row.waitFor();
      expect(await row.locator('[data-status]').textContent()).toBe('running');

      await page.goto(`${server.url}runs/order-1#token=secret-token`);
      await page.locator('#chart svg').waitFor();
      await expect.poll(() => activeStates(page)).toEqual(['fetch']);
      // The step ends in the engine's process: the page lights the next states.
      writeFileSync(join(gates, 'go-fetch'), '');
      const ended = Number((await engine.line(/^END fetch/)).split(' ')[2]);
      await page.locator('#chart g.state.active text', { hasText: 'review' }).waitFor();
      const latencyMs = Date.now() - ended;
      console.log(`serve e2e (${kind}): step end to page ${latencyMs} ms`);
      expect(latencyMs).toBeLessThan(1_000);
      await page.locator('[data-waiting="review"]').waitFor();
      // The step log shows fetch's two attempts, the first with its error.
      const fetchRow = page.locator('tr[data-step="fetch"]');
      expect(await fetchRow.locator('summary').textContent()).toBe('2');
      expect(await fetchRow.locator('details').textContent()).toContain('upstream flaked');
      if (kind === 'SQLite') await page.screenshot({ path: join(docs, 'serve-run.png'), fullPage: true });

      await page.locator('[data-waiting="review"] .skip-value').fill('{"approved":true}');
      await page.locator('[data-waiting="review"] [data-action="skip"]').click();
      await engine.line(/^RESULT order-1 /);
      expect(await engine.line(/^RESULT order-1 /)).toContain('shipped');
      await expect
        .poll(() => page.locator('.facts [data-status]').textContent(), { timeout: 5_000 })
        .toBe('done');

      await page.goto(server.url);
      await expect.poll(() => row.locator('[data-status]').textContent()).toBe('done');

      // /metrics is Prometheus text with the store's runs by status.
      const metrics = await (await fetch(`${server.url}metrics`)).text();
      expect(metrics).toMatch(/^flowstate_store_runs\{status="done"\} 1$/m);
      // Writes need the token; reads do not.
      const denied = await fetch(`${server.url}api/runs/order-1/cancel`, { method: 'POST', body: '{}' });
      expect(denied.status).toBe(401);
      await page.close();
    }, 120_000);
  },
);

describe('flowstate serve with 10,000 stored runs', () => {
  it('loads the first page of 10,000 stored runs fast, and serves them in little memory', async () => {
    const big = join(dir, 'big.db');
    const store = sqliteStore(big);
    const now = Date.now();
    // A snapshot of about 3 KB, as a run with a few results has.
    const snapshot = JSON.stringify({
      status: 'active',
      value: { running: 'fetch' },
      context: { results: { plan: 'x'.repeat(3_000) } },
      children: {},
    });
    const runs: StoredRun[] = Array.from({ length: 10_000 }, (_, i) => ({
      id: `bulk-${String(i).padStart(5, '0')}`,
      workflow: 'serve-order',
      version: 'v',
      status: i % 10 === 0 ? 'running' : 'done',
      input: { n: i },
      snapshot,
      createdAt: now - 10_000 + i,
      updatedAt: now - 10_000 + i,
    }));
    await store.write({
      claims: runs.map((run) => ({ run, owner: 'x', leaseUntil: 0 })),
      runs: [],
      journal: [],
    });
    await store.close();
    const server = await serve(big, '--read-only');
    const page = await browser.newPage();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await page.goto(server.url);
      await page.locator('tr[data-run]').nth(49).waitFor();
      times.push(Date.now() - started);
    }
    const api = Date.now();
    const body = (await (await fetch(`${server.url}api/runs?limit=50`)).json()) as {
      total: number;
      runs: unknown[];
    };
    const apiMs = Date.now() - api;
    expect(body.total).toBe(10_000);
    expect(body.runs).toHaveLength(50);
    const rssKiB = Number(
      /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1],
    );
    console.log(
      `serve e2e: 10,000 runs, first page load ${times.join(', ')} ms; API ${apiMs} ms; server RSS ${Math.round(rssKiB / 1024)} MiB`,
    );
    expect(Math.min(...times)).toBeLessThan(1_000);
    await page.screenshot({ path: join(docs, 'serve-runs.png') });
    await page.close();
  }, 120_000);
});

describe('the runs list in a real browser, live', () => {
  it('moves a run’s row in place as it moves (reading only that row again), and shows a new run', async () => {
    const live = join(dir, 'live.db');
    const gates = mkdtempSync(join(dir, 'gates-'));
    const engine = start(['test/support/serve-engine.mjs', live, gates, 'live-1']);
    await engine.line(/^READY/);
    const server = await serve(live, '--token', 'tok');
    const page = await browser.newPage();
    const reads: string[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname === '/api/runs') reads.push(url.searchParams.has('id') ? 'rows' : 'page');
    });
    await page.goto(server.url);
    const row = page.locator('tr[data-run="live-1"]');
    await expect.poll(() => row.locator('[data-status]').textContent()).toBe('running');
    expect(reads).toEqual(['page']);
    // The run moves on to its escalation: its row changes without the page being read again.
    writeFileSync(join(gates, 'go-fetch'), '');
    await expect.poll(() => row.locator('[data-status]').textContent(), { timeout: 10_000 }).toBe('waiting');
    expect(reads[0]).toBe('page');
    expect(reads.slice(1)).toContain('rows');
    expect(reads.slice(1)).not.toContain('page');
    // A run started elsewhere comes on the page (the page is read again: the new run shifts it).
    const store = sqliteStore(live);
    const now = Date.now();
    const other: StoredRun = {
      id: 'live-2',
      // Not a workflow of the engine there (which would adopt a run of its own no one holds).
      workflow: 'elsewhere',
      version: 'v',
      status: 'waiting',
      input: { big: 'x'.repeat(100_000) },
      snapshot: '',
      createdAt: now,
      updatedAt: now,
    };
    await store.write({ claims: [{ run: other, owner: 'gone', leaseUntil: 0 }], runs: [], journal: [] });
    await store.close();
    await page.locator('tr[data-run="live-2"]').waitFor({ timeout: 10_000 });
    // A cancel ends live-1: its row shows it at once, from what the stream pushed.
    const cancelled = await fetch(`${server.url}api/runs/live-1/cancel`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok' },
      body: '{}',
    });
    expect(cancelled.status).toBe(200);
    await expect
      .poll(() => row.locator('[data-status]').textContent(), { timeout: 10_000 })
      .toBe('cancelled');
    await page.close();
  }, 120_000);
});

describe('flowstate serve on the command line', () => {
  it('says what is wrong with its arguments (exit 2), prints its help, refuses a taken port (exit 1)', async () => {
    const cli = (...args: string[]) => runCli(join(bundle, 'cli.js'), ['serve', ...args], 30_000);
    const file = join(dir, 'cli.db');
    await sqliteStore(file).close();
    const noStore = await cli('--port', '0');
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('missing --store <url>');
    expect((await cli('--store', `sqlite:${file}`, '--port', 'x')).stderr).toContain(
      "--port takes a port number, got 'x'",
    );
    expect((await cli('--store', `sqlite:${file}`, '--bogus')).stderr).toContain(
      "unknown option '--bogus' for 'serve'",
    );
    expect((await cli('--store', `sqlite:${join(dir, 'none.db')}`)).stderr).toContain('no store at');
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--workflows <module>');
    // A write's body is at most --max-body (413), nested at most 64 levels (400): refused before it is stored.
    const limited = await serve(file, '--token', 'tok', '--max-body', '1kb');
    const write = (body: string) =>
      fetch(`${limited.url}api/runs/nobody/cancel`, {
        method: 'POST',
        headers: { authorization: 'Bearer tok' },
        body,
      }).then(async (r) => [r.status, await r.json()]);
    expect(await write(JSON.stringify({ reason: 'r'.repeat(2_000) }))).toEqual([
      413,
      { error: 'the body is larger than 1024 bytes (flowstate serve --max-body sets the limit)' },
    ]);
    expect(await write(`{"reason":${'['.repeat(100)}${']'.repeat(100)}}`)).toEqual([
      400,
      { error: 'the body nests objects and arrays deeper than 64 levels' },
    ]);
    expect((await write('{}'))[0]).toBe(404);
    expect((await cli('--store', `sqlite:${file}`, '--max-body', 'lots')).stderr).toContain(
      "--max-body takes a size (bytes, or with kb or mb: 4mb), got 'lots'",
    );
    const first = await serve(file, '--read-only');
    const port = new URL(first.url).port;
    const taken = await cli('--store', `sqlite:${file}`, '--port', port);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('EADDRINUSE');
  }, 60_000);
});
