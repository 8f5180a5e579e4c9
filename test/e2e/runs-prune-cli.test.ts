import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Clock, type Engine, sqliteStore, workflow } from '../../src/index.js';
import { keyedSignalId } from '../../src/runtime/inbox.js';
import { buildCli, root, runCli } from '../support/cli.js';
import { testEngine } from '../support/engine.js';

// `flowstate runs prune` as shipped (a private build, so this file does not race another rebuilding dist/), on a
// SQLite store that real engines wrote: runs that ended 40 days ago, one that ended now, and unfinished ones.
const out = join(root, 'node_modules/.cache/flowstate-runs-prune-cli-test');
const main = join(out, 'bundle/cli.js');
const flowstate = (...args: string[]) => runCli(main, args, 60_000);

const dir = mkdtempSync(join(tmpdir(), 'flowstate-prune-cli-'));
const file = join(dir, 'runs.db');
const store = `sqlite:${file}`;
const DAY = 86_400_000;
/** A clock 40 days behind: what an engine on it checkpoints reads as ended 40 days ago (leases keep wall time). */
const past: Clock = {
  now: () => Date.now() - 40 * DAY,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const ok = workflow('prune-ok').step('work').build();
const broken = workflow('prune-broken')
  .step('boom', { retry: { attempts: 1 } })
  .build();
const gated = workflow('prune-gated')
  .step('prepare')
  .waitFor('gate', { event: 'go', schema: z.object({}), timeoutMs: 30 * DAY })
  .step('after', { input: 'results.gate' })
  .build();
let prepared = 0;
const agents = {
  work: () => 'worked',
  boom: () => {
    throw new Error('boom');
  },
  prepare: () => ++prepared,
  after: () => 'after',
};
/** Short leases: an ended run's lease (kept with it) is over soon after it ended, so it may be pruned. */
const engineOn = (clock?: Clock): Engine =>
  testEngine({
    agents,
    workflows: [ok, broken, gated],
    store: sqliteStore(file),
    inbox: { pollMs: 20 },
    lease: { ttlMs: 300 },
    ...(clock ? { clock } : {}),
  });

beforeAll(async () => {
  buildCli(out);
  expect(existsSync(main)).toBe(true);
  const old = engineOn(past);
  for (const id of ['old-1', 'old-2', 'old-3']) await old.start(ok, {}, { id }).result;
  await old.start(broken, {}, { id: 'old-broken' }).result.catch(() => {});
  const waiting = old.start(gated, {}, { id: 'old-waiting' });
  waiting.result.catch(() => {});
  const answered = old.start(gated, {}, { id: 'old-answered' });
  // Both wait for `go`; the second is sent it under a name, and ends 40 days ago with its answer kept.
  for (;;) {
    if (
      (await old.get('old-waiting'))?.status === 'waiting' &&
      (await old.get('old-answered'))?.status === 'waiting'
    )
      break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await old.send('old-answered', { type: 'go' }, { signalId: 'go-1' });
  await answered.result;
  await old.close();
  const now = engineOn();
  await now.start(ok, {}, { id: 'new-1' }).result;
  await now.close();
  // Every ended run's lease (300 ms) is over.
  await new Promise((r) => setTimeout(r, 400));
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ids = async () => {
  const ran = await flowstate('runs', 'list', '--store', store, '--json');
  return (JSON.parse(ran.stdout) as Array<{ id: string }>).map((r) => r.id).sort();
};

describe('flowstate runs prune', () => {
  it.each([
    [['--store', store], 'missing --ended-before'],
    [['--ended-before', '-5d', '--store', store], "'-5d' is negative"],
    [['--ended-before=-1h', '--store', store], "'-1h' is negative"],
    [['--ended-before', 'soon', '--store', store], "cannot read 'soon'"],
    [['--ended-before', '30x', '--store', store], "cannot read '30x'"],
    [['--ended-before', '2026-13-45', '--store', store], 'is not a valid date'],
    [['--ended-before', '2999-01-01', '--store', store], 'is in the future'],
    [['--ended-before', '30d', '--limit', '0', '--store', store], '--limit takes a positive whole number'],
    [['--ended-before', '30d', '--older', '--store', store], "unknown option '--older'"],
    [['--ended-before', '30d', '--store', 'sqlite:/nope/runs.db'], 'no store at /nope/runs.db'],
  ])('refuses %j as a usage mistake (exit 2, one line), deleting nothing', async (args, message) => {
    const ran = await flowstate('runs', 'prune', ...args);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(ran.stderr).toContain(message);
  });

  it('is in the help', async () => {
    const ran = await flowstate('help', 'runs');
    expect(ran.stdout).toContain('--ended-before <age|date>');
    expect(ran.stdout).toContain('--dry-run');
    expect(ran.stdout).toContain('flowstate runs prune --ended-before 30d');
  });

  it('a named signal sent again before the prune gets its kept answer', async () => {
    const ran = await flowstate(
      'runs',
      'send',
      'old-answered',
      '{"type":"go"}',
      '--signal-id',
      'go-1',
      '--timeout',
      '2000',
      '--store',
      store,
    );
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
  });

  it('--dry-run counts and deletes nothing; then batches of --limit, then the rest; again a no-op', async () => {
    const all = ['new-1', 'old-1', 'old-2', 'old-3', 'old-answered', 'old-broken', 'old-waiting'];
    expect(await ids()).toEqual(all);
    const dry = await flowstate(
      'runs',
      'prune',
      '--ended-before',
      '30d',
      '--dry-run',
      '--json',
      '--store',
      store,
    );
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, runs: 5, batches: 0 });
    expect(Date.parse(JSON.parse(dry.stdout).endedBefore)).toBeLessThan(Date.now() - 30 * DAY + 60_000);
    const text = await flowstate('runs', 'prune', '--ended-before', '720h', '--dry-run', '--store', store);
    expect(text.stdout.trimEnd()).toMatch(
      /^would prune 5 runs that ended before \S+Z \(dry run: nothing was deleted\)$/,
    );
    expect(await ids()).toEqual(all);

    const two = await flowstate('runs', 'prune', '--ended-before', '30d', '--limit', '2', '--store', store);
    expect(two).toMatchObject({ code: 0, stderr: '' });
    expect(two.stdout.trimEnd()).toMatch(
      /^pruned 2 runs that ended before \S+Z, with their journal, timers and signals \(1 batch\)$/,
    );
    const rest = await flowstate('runs', 'prune', '--ended-before', '30d', '--json', '--store', store);
    expect(JSON.parse(rest.stdout)).toMatchObject({ dryRun: false, runs: 3 });
    expect(await ids()).toEqual(['new-1', 'old-waiting']);
    const again = await flowstate(
      'runs',
      'prune',
      '--ended-before',
      '2020-01-01',
      '--json',
      '--store',
      store,
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ runs: 0 });
    const none = await flowstate('runs', 'prune', '--ended-before', '30d', '--store', store);
    expect(none.stdout).toMatch(/^pruned 0 runs /);
    expect((await flowstate('runs', 'show', 'old-1', '--store', store)).code).toBe(2);
  });

  it('a named signal sent again after its run was pruned finds no run: RUN_NOT_FOUND, nothing stored', async () => {
    const ran = await flowstate(
      'runs',
      'send',
      'old-answered',
      '{"type":"go"}',
      '--signal-id',
      'go-1',
      '--store',
      store,
    );
    expect(ran.code).toBe(2);
    expect(ran.stderr.trim()).toBe('flowstate: no run old-answered in the store');
    const engine = engineOn();
    try {
      await expect(engine.send('old-answered', { type: 'go' }, { signalId: 'go-1' })).rejects.toMatchObject({
        code: 'RUN_NOT_FOUND',
      });
      const kept = sqliteStore(file);
      expect(await kept.getMessage(keyedSignalId('old-answered', 'go-1'))).toBeUndefined();
      await kept.close();
      // The id is free again: a new run under it takes the same named signal as a new one.
      const reborn = engine.start(gated, {}, { id: 'old-answered' });
      for (let i = 0; i < 250 && (await engine.get('old-answered'))?.status !== 'waiting'; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await engine.send('old-answered', { type: 'go' }, { signalId: 'go-1' })).toBe(true);
      await expect(reborn.result).resolves.toMatchObject({ after: 'after' });
    } finally {
      await engine.close();
    }
  });

  it('the unfinished run is whole: an engine takes it, its journaled step is not run again, and it ends', async () => {
    const before = prepared;
    const engine = engineOn();
    try {
      await engine.send('old-waiting', { type: 'go' });
      for (let i = 0; i < 250 && (await engine.get('old-waiting'))?.status !== 'done'; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await engine.get('old-waiting')).toMatchObject({ status: 'done', output: { after: 'after' } });
      expect(prepared).toBe(before);
    } finally {
      await engine.close();
    }
    // Ended just now (by the real clock, as did new-1 and the reborn old-answered): kept by a 1-hour cut, pruned
    // once their leases ended by `0s`.
    const kept = await flowstate('runs', 'prune', '--ended-before', '1h', '--json', '--store', store);
    expect(JSON.parse(kept.stdout)).toMatchObject({ runs: 0 });
    await new Promise((r) => setTimeout(r, 400));
    const all = await flowstate('runs', 'prune', '--ended-before', '0s', '--json', '--store', store);
    expect(JSON.parse(all.stdout)).toMatchObject({ runs: 3 });
    expect(await ids()).toEqual([]);
  });
});
