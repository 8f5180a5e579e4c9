// The API of `flowstate serve` applies a valid signal to a run no live engine holds at once, as `flowstate runs
// decide|send|cancel` does: a released template run left waiting on a human approval is taken, given the decision,
// committed and handed back. Before, the API answered `202 queued` and the decision waited in the inbox for an
// engine that, for such a run, may never come.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { template as migrationTemplate } from '../../machines/migration.js';
import { parseRuns } from '../../src/cli/commands/runs-common.js';
import { runsSignal } from '../../src/cli/commands/runs-signal.js';
import { createServeApp } from '../../src/cli/serve/app.js';
import { type AnyWorkflowDefinition, sqliteStore, type WorkflowStore, workflow } from '../../src/index.js';
import { keyedSignalId } from '../../src/runtime/inbox.js';
import { testEngine } from '../support/engine.js';
import { waitFor } from '../support/named-signals.js';

const migration = migrationTemplate.definition;
/** `flowstate runs <args>` of a signal command, in this process: its exit code and what it printed. */
const runs = async (...args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) };
  const code = await runsSignal(parseRuns(args), io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
};
const dir = mkdtempSync(join(tmpdir(), 'flowstate-serve-unowned-'));
const path = join(dir, 'runs.db');
/** Another workflow, that only the program defining it can run: the server knows its definition, not its agents. */
const approval = workflow('unowned-approval')
  .waitFor('approval', { event: 'approved', timeoutMs: 600_000 })
  .build();

/**
 * The migration template's agents, standing in for the real ones (no database needed): the SQL is destructive, so
 * `approval` escalates to a human; the steps after it report what they were given.
 */
const agents = {
  'migration-plan': () => ({ statements: [{ sql: 'DROP TABLE audit_log' }] }),
  'migration-lint': () => ({ destructive: true }),
  'migration-rewrite': () => ({}),
  'migration-judge': () => ({ preview: false, lint: { destructive: true } }),
  'migration-approval': () => {
    throw new Error('Destructive statements wait for a human approval');
  },
  'migration-dry-run': () => ({ durationMs: 1, reversible: true, revertProblem: null }),
  'migration-apply': () => ({ appliedAt: '2026-01-01T00:00:00.000Z', durationMs: 1 }),
  'migration-revert': () => null,
  'migration-verify': () => ({ ok: true }),
  'migration-report': (results: { approval: { by: string } }) => ({
    status: 'applied',
    schema: 'public',
    statements: [],
    findings: [],
    destructive: true,
    rewrites: 0,
    approval: { by: results.approval.by, source: 'human' },
    dryRun: { durationMs: 1, reversible: true, revertProblem: null },
    apply: { appliedAt: '2026-01-01T00:00:00.000Z', durationMs: 1 },
    changes: [],
    rowCounts: [],
    backups: { kept: false, tables: [] },
  }),
};

let store: WorkflowStore;
let api: ReturnType<typeof createServeApp>;
beforeAll(async () => {
  // Runs left waiting on a human by an engine that closed since: released, no live engine holds them.
  const first = testEngine({ store: sqliteStore(path), agents, workflows: [migration, approval] });
  const ids = ['api-1', 'cli-1', 'keyed-1', 'refused-1', 'race-1', 'race-2', 'old-1', 'two-1', 'two-2'];
  for (const id of ids)
    first.start(migration, { sql: 'DROP TABLE audit_log' }, { id }).result.catch(() => {});
  first.start(approval, {}, { id: 'other-1' }).result.catch(() => {});
  await waitFor(async () => {
    const runs = await first.list({ status: ['waiting'] });
    return runs.length === ids.length + 1;
  });
  await first.close();
  // A run started by another release of Flowstate: its template's version differs from this one's.
  const db = new Database(path);
  db.prepare("UPDATE flowstate_runs SET version = 'release-0' WHERE id = 'old-1'").run();
  db.close();
  // The server on its own connection, as another process.
  store = sqliteStore(path);
  api = createServeApp({
    store,
    workflows: new Map<string, AnyWorkflowDefinition>([
      [migration.id, migration],
      [approval.id, approval],
    ]),
    registry: new Registry(),
    assets: new Map(),
    token: 't',
    pollMs: 10,
    // Long enough for a take, apply and commit on SQLite; short enough that a queued answer (202) comes quickly.
    signalTimeoutMs: 3_000,
  });
}, 30_000);
/** A second server on the same file, as another process (its own connection). */
let otherStore: WorkflowStore;
let other: ReturnType<typeof createServeApp>;
afterAll(async () => {
  other?.close();
  await otherStore?.close();
  api.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = async (path: string, body: unknown, key?: string, server = api) => {
  const headers: Record<string, string> = { authorization: 'Bearer t' };
  if (key !== undefined) headers['idempotency-key'] = key;
  const response = await server.app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
/** `flowstate runs decide <id> approval --action skip --value {approved, by: ann}` on this test's store. */
const approveByCli = (id: string) =>
  runs(
    'decide',
    id,
    'approval',
    '--action',
    'skip',
    '--value',
    '{"approved":true,"by":"ann"}',
    '--store',
    `sqlite:${path}`,
  );
const approve = (by: string) => ({ stepPath: 'approval', action: 'skip', value: { approved: true, by } });
/** The stored run: its status, lease, epoch, and where its state stands. */
const stored = async (id: string) => {
  const run = await store.getRun(id);
  if (!run) throw new Error(`no run ${id}`);
  const snapshot = JSON.parse(run.snapshot) as {
    value: unknown;
    context: { results: Record<string, unknown> };
  };
  return { run, value: snapshot.value, results: snapshot.context.results };
};

describe('a signal through the API to a run no live engine holds', () => {
  it('is applied at once (200), leaving the run where the CLI leaves it; resumed, the run ends with it', async () => {
    const before = await stored('api-1');
    expect(before.run).toMatchObject({ status: 'waiting', leaseUntil: 0 });
    expect(await post('/api/runs/api-1/decide', approve('ann'))).toEqual({
      status: 200,
      body: { applied: true, result: null },
    });
    const cli1 = await approveByCli('cli-1');
    expect(cli1).toMatchObject({ code: 0, stderr: '' });
    // Both taken once, decided, committed, handed back: on to the dry run, for the next engine that takes them.
    const [byApi, byCli] = [await stored('api-1'), await stored('cli-1')];
    expect(byApi.run).toMatchObject({ status: 'running', leaseUntil: 0, epoch: (before.run.epoch ?? 0) + 1 });
    expect(byApi.results.approval).toEqual({ approved: true, by: 'ann' });
    expect({ status: byApi.run.status, value: byApi.value, results: byApi.results }).toEqual({
      status: byCli.run.status,
      value: byCli.value,
      results: byCli.results,
    });
    const next = testEngine({ store: sqliteStore(path), agents, workflows: [migration] });
    try {
      const run = await next.resume('api-1');
      await expect(run.result).resolves.toMatchObject({ approval: { by: 'ann', source: 'human' } });
      expect((await next.get('api-1'))?.status).toBe('done');
    } finally {
      await next.close();
    }
  });

  it('sent again under its Idempotency-Key, is answered alike and not applied again', async () => {
    const first = await post('/api/runs/keyed-1/decide', approve('ann'), 'approval-7');
    expect(first).toEqual({ status: 200, body: { applied: true, result: null } });
    const after = await stored('keyed-1');
    expect(after.run.status).toBe('running');
    // A second application would take the run again (a new epoch) and be refused: the step waits no more.
    expect(await post('/api/runs/keyed-1/decide', approve('ann'), 'approval-7')).toEqual(first);
    const again = await stored('keyed-1');
    expect(again.run).toMatchObject({ epoch: after.run.epoch, updatedAt: after.run.updatedAt });
    expect(again.results.approval).toEqual({ approved: true, by: 'ann' });
    // The key reused for another decision is refused, as before.
    expect(await post('/api/runs/keyed-1/decide', approve('bob'), 'approval-7')).toMatchObject({
      status: 409,
      body: { code: 'CONFIGURATION_INVALID', error: expect.stringContaining('signalId already names') },
    });
  });

  it('that the run would refuse is a 409, as before, and the run is not taken', async () => {
    const before = await stored('refused-1');
    expect(await post('/api/runs/refused-1/decide', { stepPath: 'plan', action: 'retry' })).toEqual({
      status: 409,
      body: {
        applied: false,
        code: 'CONFIGURATION_INVALID',
        error: "Step 'plan' is not waiting for a decision (steps waiting for one: approval)",
      },
    });
    expect((await stored('refused-1')).run).toMatchObject({ status: 'waiting', epoch: before.run.epoch });
  });

  it('two at once with different keys are handled as two in a row: one applied, the other refused', async () => {
    const before = await stored('race-1');
    const answers = await Promise.all([
      post('/api/runs/race-1/decide', approve('ann'), 'race-ann'),
      post('/api/runs/race-1/decide', approve('bob'), 'race-bob'),
    ]);
    const applied = answers.findIndex((a) => a.status === 200);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers[1 - applied]?.body).toMatchObject({
      applied: false,
      code: 'CONFIGURATION_INVALID',
      error: expect.stringContaining("Step 'approval' is not waiting for a decision"),
    });
    // Taken once (no second take racing the first), the decision that was answered 200 is the one applied.
    const after = await stored('race-1');
    expect(after.run).toMatchObject({ status: 'running', leaseUntil: 0, epoch: (before.run.epoch ?? 0) + 1 });
    expect(after.results.approval).toEqual({ approved: true, by: applied === 0 ? 'ann' : 'bob' });
    // Neither left queued in the inbox: the one applied is answered there, the one refused was never posted.
    const [ann, bob] = ['race-ann', 'race-bob'].map((key) => keyedSignalId('race-1', key));
    const messages = [await store.getMessage(ann as string), await store.getMessage(bob as string)];
    expect(messages[applied]?.state).toBe('applied');
    expect(messages[1 - applied]).toBeUndefined();
  });

  it('two at once, both valid, are both applied in turn: a decision and a cancel', async () => {
    const answers = await Promise.all([
      post('/api/runs/race-2/decide', approve('ann')),
      post('/api/runs/race-2/cancel', { reason: 'withdrawn' }),
    ]);
    const after = await stored('race-2');
    expect(after.run.status).toBe('cancelled');
    if (answers[0].status === 200) {
      // The decision first, then the cancel of the run it moved on.
      expect(answers[1]).toEqual({ status: 200, body: { applied: true, result: null } });
      expect(after.results.approval).toEqual({ approved: true, by: 'ann' });
    } else {
      // The cancel first: the decision then finds the run ended.
      expect(answers[0]).toMatchObject({ status: 409, body: { code: 'CONFIGURATION_INVALID' } });
      expect(answers[1].status).toBe(200);
    }
  });

  it('to a template run of another version is refused, API and CLI, and the run is left untouched', async () => {
    const before = await store.getRun('old-1');
    expect(before).toMatchObject({ status: 'waiting', version: 'release-0' });
    const answer = await post('/api/runs/old-1/decide', approve('ann'));
    expect(answer).toMatchObject({ status: 409, body: { code: 'CONFIGURATION_INVALID' } });
    expect(answer.body.error).toMatch(/version release-0.*nothing was applied/);
    // The CLI's command throws it for its main to print (exit 1, as an owner's refusal).
    await expect(approveByCli('old-1')).rejects.toThrow(/version release-0/);
    // Not marked failed (as a take without a migration would), not re-versioned, its lease released.
    const after = await store.getRun('old-1');
    expect(after).toMatchObject({ status: 'waiting', version: 'release-0', snapshot: before?.snapshot });
    expect(after?.leaseUntil ?? 0).toBeLessThanOrEqual(Date.now());
  });

  it('of a workflow only its own program runs: a cancel is applied (as the CLI does), an event stays queued', async () => {
    expect(await post('/api/runs/other-1/send', { event: { type: 'approved' } })).toMatchObject({
      status: 202,
      body: { queued: true },
    });
    expect(await post('/api/runs/other-1/cancel', { reason: 'done by hand' })).toEqual({
      status: 200,
      body: { applied: true, result: null },
    });
    expect((await stored('other-1')).run.status).toBe('cancelled');
  });

  it('two servers on one store, one signal each at once: both applied in turn, none left queued (202)', async () => {
    otherStore = sqliteStore(path);
    other = createServeApp({
      store: otherStore,
      workflows: new Map<string, AnyWorkflowDefinition>([[migration.id, migration]]),
      registry: new Registry(),
      assets: new Map(),
      token: 't',
      pollMs: 10,
      signalTimeoutMs: 3_000,
    });
    for (const [id, keys] of [
      ['two-1', [undefined, undefined]],
      ['two-2', ['k-ann', 'k-cancel']],
    ] as const) {
      const answers = await Promise.all([
        post(`/api/runs/${id}/decide`, approve('ann'), keys[0]),
        post(`/api/runs/${id}/cancel`, { reason: 'withdrawn' }, keys[1], other),
      ]);
      // The loser of the take found the run taken; its signal is applied when the winner hands the run back.
      expect(answers.map((a) => a.status)).not.toContain(202);
      expect(answers[1]).toEqual({ status: 200, body: { applied: true, result: null } });
      const after = await stored(id);
      expect(after.run.status).toBe('cancelled');
      // Named, its answer is kept: applied, not left pending.
      if (keys[1]) expect((await store.getMessage(keyedSignalId(id, keys[1])))?.state).toBe('applied');
    }
  });
});
