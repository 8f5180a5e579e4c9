import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, DefinitionVersionError, sqliteStore, workflow } from '../../src/index.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';
import { collect, sleeper } from '../support/progress.js';

const files = sqliteScratch('flowstate-durable-');
const { restarted } = files;

const twoSteps = workflow('durable-two').step('a').step('b', { input: 'results.a' }).build();

describe('resume after a crash', () => {
  it('continues from the last checkpoint without calling finished steps again', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: () => 'A', b: never },
      workflows: [twoSteps],
    });
    const run = first.start(twoSteps, {}, { id: 'r1' });
    await settle(first);
    expect(await first.get('r1')).toMatchObject({
      status: 'running',
      workflow: 'durable-two',
      version: twoSteps.version,
    });
    const a = vi.fn(() => 'again');
    const seen: string[] = [];
    const second = restarted({
      agents: {
        a,
        b: (input: string, ctx: { idempotencyKey: string }) => {
          seen.push(ctx.idempotencyKey);
          return `${input}+B`;
        },
      },
      workflows: [twoSteps],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ a: 'A', b: 'A+B' });
    expect(a).not.toHaveBeenCalled();
    expect(seen).toEqual(['r1:b:1']);
    await settle(second);
    expect(await second.get('r1')).toMatchObject({ status: 'done', output: { a: 'A', b: 'A+B' } });
    expect(run.status).toBe('running');
  });

  it('does not call a step whose output was journaled before the crash', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: () => 'A', b: never },
      workflows: [twoSteps],
    });
    first.start(twoSteps, {}, { id: 'r2' });
    await settle(first);
    // The crash came after b's output was committed to the journal but before the next checkpoint.
    const { owner, epoch } = (await files.store.getRun('r2')) ?? {};
    await files.store.write({
      runs: [],
      journal: [
        {
          key: 'r2:b:1',
          runId: 'r2',
          stepPath: 'b',
          attempt: 1,
          output: '"journaled"',
          createdAt: 0,
          lease: { owner: owner ?? '', epoch: epoch ?? 0 },
        },
      ],
    });
    const b = vi.fn(() => 'called');
    const second = restarted({ agents: { a: () => 'A', b }, workflows: [twoSteps] });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ a: 'A', b: 'journaled' });
    expect(b).not.toHaveBeenCalled();
  });

  it('refuses to resume on a changed definition, and recovers the other runs', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: never, b: never },
      workflows: [twoSteps],
    });
    first.start(twoSteps, {}, { id: 'old' });
    await settle(first);
    const changed = workflow('durable-two').step('a').step('b', { input: 'results.a', timeoutMs: 5 }).build();
    const other = workflow('other').step('a').build();
    const otherEngine = testEngine({
      lease: node,
      store: files.store,
      agents: { a: never },
      workflows: [other],
    });
    otherEngine.start(other, {}, { id: 'fine' });
    await settle(otherEngine);
    const second = restarted({ agents: { a: () => 1, b: () => 2 }, workflows: [changed, other] });
    await expect(second.resume('old')).rejects.toBeInstanceOf(DefinitionVersionError);
    const recovered = await second.recover();
    expect(recovered.map((r) => r.id)).toEqual(['fine']);
    await expect(recovered[0]?.result).resolves.toEqual({ a: 1 });
  });

  it('rejects a corrupted run with a typed error and recovers the others', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: never, b: never },
      workflows: [twoSteps],
    });
    first.start(twoSteps, {}, { id: 'bad' });
    first.start(twoSteps, {}, { id: 'good' });
    await settle(first);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(files.path);
    db.prepare(
      `UPDATE flowstate_runs SET snapshot = '{"value": {"running": "nowhere"}, "status": "active"}' WHERE id = 'bad'`,
    ).run();
    db.close();
    const second = restarted({ agents: { a: () => 1, b: () => 2 }, workflows: [twoSteps] });
    await expect(second.resume('bad')).rejects.toMatchObject({ code: 'RUN_CORRUPTED' });
    const recovered = await second.recover();
    expect(recovered.map((r) => r.id)).toEqual(['good']);
    await expect(recovered[0]?.result).resolves.toEqual({ a: 1, b: 2 });
  });
});

describe('run ids', () => {
  it('refuses a run whose id another stored run holds before calling any agent, leaving the stored one as it was', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: () => 'A', b: never },
      workflows: [twoSteps],
    });
    first.start(twoSteps, {}, { id: 'taken' });
    await settle(first);
    const before = await files.store.getRun('taken');
    const again = vi.fn(() => 'again');
    const second = restarted({ agents: { a: again, b: () => 'B' }, workflows: [twoSteps] });
    const run = second.start(twoSteps, {}, { id: 'taken' });
    await expect(run.result).rejects.toMatchObject({
      code: 'RUN_ID_TAKEN',
      message: expect.stringContaining("Run id 'taken' is already used"),
    });
    expect(again).not.toHaveBeenCalled();
    expect(second.active.size).toBe(0);
    await second.flush();
    expect(await files.store.getRun('taken')).toEqual(before);
    expect(await files.store.listTimers('taken')).toEqual([]);
  });
});

describe('timers across a restart', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('resumes a backoff with the time it had left, and never early', async () => {
    const wf = workflow('durable-backoff')
      .step('a', { retry: { attempts: 2, initialMs: 10_000, jitter: 0 } })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: {
        a: async () => {
          throw new Error('first attempt fails');
        },
      },
      workflows: [wf],
    });
    first.start(wf, {}, { id: 'b1' });
    await settle(first);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(await files.store.listTimers('b1')).toEqual([
      { runId: 'b1', stepPath: 'a', kind: 'backoff', deadline: 10_000 },
    ]);
    const calls: number[] = [];
    const second = restarted({
      agents: {
        a: () => {
          calls.push(Date.now());
          return 'ok';
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await vi.advanceTimersByTimeAsync(5_999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await expect(resumed?.result).resolves.toEqual({ a: 'ok' });
    expect(calls).toEqual([10_000]);
  });

  it('resumes a waitFor with the time it had left: its deadline is in the snapshot and its timer row', async () => {
    const wf = workflow('durable-wait')
      .waitFor('approval', { event: 'approved', timeoutMs: 10_000, onTimeout: 'skip' })
      .step('after')
      .build();
    const first = testEngine({ lease: node, store: files.store, agents: { after: never }, workflows: [wf] });
    first.start(wf, {}, { id: 'w1' });
    await settle(first);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(await files.store.listTimers('w1')).toEqual([
      { runId: 'w1', stepPath: 'approval', kind: 'wait', deadline: 10_000 },
    ]);
    const calls: number[] = [];
    const second = restarted({
      agents: {
        after: () => {
          calls.push(Date.now());
          return 'ok';
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await vi.advanceTimersByTimeAsync(5_999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await expect(resumed?.result).resolves.toEqual({ approval: null, after: 'ok' });
    expect(calls).toEqual([10_000]);
    await settle(second);
    expect(await files.store.listTimers('w1')).toEqual([]);
  });

  it("resumes a child workflow's waitFor with the time it had left", async () => {
    const child = workflow('durable-wait-child')
      .waitFor('approval', { event: 'approved', timeoutMs: 10_000, onTimeout: 'skip' })
      .build();
    const wf = workflow('durable-wait-parent').step('sub', { workflow: child }).build();
    const first = testEngine({ lease: node, store: files.store, workflows: [wf, child] });
    first.start(wf, {}, { id: 'w3' });
    await settle(first);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(await files.store.listTimers('w3')).toEqual([
      { runId: 'w3', stepPath: 'sub/approval', kind: 'wait', deadline: 10_000 },
    ]);
    const second = restarted({ workflows: [wf, child] });
    const [resumed] = await second.recover();
    await vi.advanceTimersByTimeAsync(5_999);
    expect(resumed?.status).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1);
    await expect(resumed?.result).resolves.toEqual({ sub: { approval: null } });
  });

  it('resumes a waitFor that gets its event after a restart, its timeout cancelled', async () => {
    const wf = workflow('durable-wait-event')
      .waitFor('approval', { event: 'approved', timeoutMs: 10_000 })
      .build();
    const first = testEngine({ lease: node, store: files.store, workflows: [wf] });
    first.start(wf, {}, { id: 'w2' });
    await settle(first);
    await vi.advanceTimersByTimeAsync(4_000);
    const second = restarted({ workflows: [wf] });
    const [resumed] = await second.recover();
    await second.send('w2', { type: 'approved', by: 'ada' });
    await expect(resumed?.result).resolves.toEqual({ approval: { by: 'ada' } });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(resumed?.status).toBe('done');
  });

  it('keeps an escalation waiting for a human across a restart, with its deadline', async () => {
    const wf = workflow('durable-esc')
      .step('review', { escalate: { to: 'human', timeoutMs: 60_000 } })
      .build();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: {
        review: async () => {
          throw new Error('needs a human');
        },
      },
      workflows: [wf],
    });
    first.start(wf, {}, { id: 'e1' });
    await settle(first);
    await vi.advanceTimersByTimeAsync(1_000);
    await settle(first);
    expect(await first.get('e1')).toMatchObject({ status: 'waiting' });
    expect(await first.list({ status: 'waiting' })).toHaveLength(1);
    const second = restarted({ agents: { review: () => 'x' }, workflows: [wf] });
    const [resumed] = await second.recover();
    expect(resumed?.waitingSteps()).toEqual(['review']);
    resumed?.resolveEscalation('review', { action: 'skip', value: 'approved' });
    await expect(resumed?.result).resolves.toEqual({ review: 'approved' });
  });
});

describe('a copy handed over by close()', () => {
  // A helper's trial: after close() its runs read `cancelled` (their actors stopped), though they wait in the store
  // for the next engine; and a run closed while its id was being claimed read `waiting`, though nothing had started.
  it('keeps saying where the run is: waiting, and its waiting steps; a run not started yet: running', async () => {
    const wait = workflow('handed-wait').step('a').waitFor('w', { event: 'go', timeoutMs: 600_000 }).build();
    const engine = testEngine({ workflows: [wait], agents: { a: () => 1 }, store: sqliteStore(files.path) });
    const waiting = engine.start(wait, {}, { id: 'handed-1' });
    for (let i = 0; i < 500 && waiting.status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 2));
    const claiming = engine.start(wait, {}, { id: 'handed-2' });
    await engine.close();
    expect([waiting.status, waiting.waitingSteps()]).toEqual(['waiting', ['w']]);
    await expect(waiting.result).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect([claiming.status, claiming.waitingSteps()]).toEqual(['running', []]);
    const store = sqliteStore(files.path);
    expect((await store.getRun('handed-1'))?.status).toBe('waiting');
    expect((await store.getRun('handed-2'))?.status).toBe('running');
    await store.close();
  });
});

describe('learned durations across a restart', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());
  const timed = workflow('durable-eta').step('slow').step('quick').build();
  const agents = { slow: sleeper(() => 3_000), quick: sleeper(() => 500) };

  it('gives the next engine on the store the ETA the first one learned', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents,
      workflows: [timed],
      progress: { throttleMs: 0 },
    });
    const fresh = collect(first.start(timed, {}));
    // Each step's output is committed (on real time) before the next step starts.
    await vi.advanceTimersByTimeAsync(3_000);
    await settle(first);
    await vi.advanceTimersByTimeAsync(500);
    await settle(first);
    expect(fresh.emissions.at(-1)?.status).toBe('done');
    // No history yet: 1 s a step by default.
    expect(fresh.emissions[0]?.eta.remainingMs).toBe(2_000);
    await first.close();
    expect((await sqliteStore(files.path).loadHistory?.())?.map((r) => [r.path, r.kind])).toEqual(
      expect.arrayContaining([
        ['slow', 'duration'],
        ['quick', 'duration'],
      ]),
    );

    const second = restarted({ agents, workflows: [timed], progress: { throttleMs: 0 } });
    await second.flush();
    const warm = collect(second.start(timed, {}));
    await vi.advanceTimersByTimeAsync(0);
    expect(warm.emissions[0]?.eta.remainingMs).toBe(3_500);
  });

  it('starts from expectedMs, and says so in the log, when stored rows do not parse', async () => {
    await files.store.write({
      runs: [],
      journal: [],
      history: [{ workflow: 'durable-eta', path: 'slow', kind: 'duration', state: '{oops', updatedAt: 1 }],
    });
    const warnings: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    const engine = restarted({ agents, workflows: [timed], logger, progress: { throttleMs: 0 } });
    await engine.flush();
    expect(warnings).toEqual([expect.objectContaining({ skipped: 1 })]);
    const seen = collect(engine.start(timed, {}));
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.emissions[0]?.eta.remainingMs).toBe(2_000);
  });
});

describe('records without a store', () => {
  it('lists and gets the runs of this process, and explains that resume needs a store', async () => {
    const engine = testEngine({ agents: { a: () => 'A', b: () => 'B' } });
    const run = engine.start(twoSteps, {}, { id: 'm1' });
    await run.result;
    expect(await engine.get('m1')).toMatchObject({ id: 'm1', status: 'done', output: { a: 'A', b: 'B' } });
    expect((await engine.list({ status: 'done' })).map((r) => r.id)).toEqual(['m1']);
    await expect(engine.resume('m1')).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('secrets', () => {
  const wf = workflow('durable-secret', { secrets: ['input.apiKey'] })
    .step('call', { input: (ctx) => ({ key: (ctx.input as { apiKey: string }).apiKey }) })
    .step('next')
    .build();

  it('never stores a secret in clear: sealed with the hook, opened again on resume', async () => {
    const seal = {
      seal: (v: string) => Buffer.from(v).toString('base64'),
      open: (t: string) => Buffer.from(t, 'base64').toString(),
    };
    const first = testEngine({
      lease: node,
      store: files.store,
      secrets: seal,
      agents: { call: () => 'called', next: never },
      workflows: [wf],
    });
    first.start(wf, { apiKey: 'sk-very-secret', table: 'orders' }, { id: 's1' });
    await settle(first);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(files.path, { readonly: true });
    const dump =
      JSON.stringify(db.prepare('SELECT * FROM flowstate_runs').all()) +
      JSON.stringify(db.prepare('SELECT * FROM flowstate_journal').all());
    db.close();
    expect(dump).toContain('orders');
    expect(dump).not.toContain('sk-very-secret');
    const seen: unknown[] = [];
    const second = restarted({
      secrets: seal,
      agents: {
        call: () => 'again',
        next: (input: unknown) => {
          seen.push(input);
          return 'done';
        },
      },
      workflows: [wf],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ call: 'called', next: 'done' });
    expect(seen).toEqual([{ apiKey: 'sk-very-secret', table: 'orders' }]);
  });

  it('redacts secrets without a hook', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { call: () => 'called', next: never },
      workflows: [wf],
    });
    first.start(wf, { apiKey: 'sk-very-secret' }, { id: 's2' });
    await settle(first);
    expect(JSON.stringify(await files.store.getRun('s2'))).not.toContain('sk-very-secret');
    expect((await first.get('s2'))?.input).toEqual({ apiKey: '[redacted]' });
  });
});
