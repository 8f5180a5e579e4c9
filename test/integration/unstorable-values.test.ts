// Values from outside that a store cannot hold as JSON (nested 5,000 deep, which JSON.parse reads but JSON.stringify
// overflows on; a BigInt; a circular structure; a function) are refused where they come in, for their own run alone:
// a start's input, a step's output, a signal's payload, a migration's new input. Before, the first of them
// serialized inside the store's transaction failed the whole batch, taken for a store fault and retried forever:
// every run of the engine stopped being written, and a replica never adopted them (their leases kept being renewed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EngineOptions,
  InputValidationError,
  postgresStore,
  sqliteStore,
  type WorkflowStore,
  workflow,
} from '../../src/index.js';
import { BatchWriter } from '../../src/persistence/batch-writer.js';
import type { StoredRun } from '../../src/persistence/types.js';
import { deferred, testEngine } from '../support/engine.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'flowstate-unstorable-'));
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const name = () => Math.random().toString(36).slice(2, 10);
const deep = (n: number) => {
  let o: unknown = { leaf: 1 };
  for (let i = 0; i < n; i++) o = { d: o };
  return o;
};
const circular = () => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = { o };
  return o;
};
/** What a promise did within `ms`: `ok`, `failed: <code>`, or `pending` (the engine is wedged). */
const within = (p: Promise<unknown>, ms = 5_000) =>
  Promise.race([
    p.then(
      () => 'ok',
      (e: { code?: string; name?: string }) => `failed: ${e.code ?? e.name}`,
    ),
    new Promise<string>((r) => setTimeout(() => r('pending'), ms)),
  ]);
/** A promise's outcome, observed at once (a rejection is never left unhandled while a test awaits another). */
const outcome = (p: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
const until = async (check: () => boolean | Promise<boolean>, ms = 8_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const gated = workflow('unstorable-gated').step('a', { input: 'input' }).build();

describe.each([
  ['sqlite', async () => join(dir, `${name()}.db`), (file: string) => sqliteStore(file)],
  ['postgres', async () => createDatabase(pg, `u${name()}`), (url: string) => postgresStore(url)],
] as const)('on %s', (_kind, target, connect) => {
  const open = async () => connect(await target());
  const engineOn = (store: WorkflowStore, options: EngineOptions = {}) =>
    testEngine({ store, lease: { owner: `e-${name()}`, ttlMs: 1_000 }, inbox: { pollMs: 20 }, ...options });

  it('refuses at start an input it cannot hold; the runs started before and after it are stored done', async () => {
    const store = await open();
    const gate = deferred<void>();
    const engine = engineOn(store, {
      agents: {
        a: async (input: { i: number }) => {
          await gate.promise;
          return input.i;
        },
      },
      workflows: [gated],
    });
    const before = engine.start(gated, { i: 1 }, { id: 'before' });
    const bad: [string, () => unknown, RegExp][] = [
      [
        'deep',
        () => ({ x: deep(5_000) }),
        /\(root\): cannot be stored as JSON: it is nested too deep for JSON/,
      ],
      [
        'bigint',
        () => ({ order: { n: 1n } }),
        /order\.n: cannot be stored as JSON: a BigInt has no JSON form/,
      ],
      ['circular', circular, /self\.o: cannot be stored as JSON: it holds a circular structure/],
      ['function', () => () => 1, /cannot be stored as JSON: a function has no JSON form/],
    ];
    const thrown = new Map<string, unknown>();
    for (const [id, value] of bad) {
      try {
        engine.start(gated, value(), { id });
      } catch (error) {
        thrown.set(id, error);
      }
    }
    // A run id PostgreSQL text cannot hold (its claim failed every batch there): refused on every store alike.
    try {
      engine.start(gated, { i: 3 }, { id: 'nul\u0000id' });
    } catch (error) {
      thrown.set('nul', error);
    }
    const after = engine.start(gated, { i: 2 }, { id: 'after' });
    gate.resolve();
    // Every run beside them is written (they once held the engine's writer: nothing more was stored).
    expect(await within(before.result)).toBe('ok');
    expect(await within(after.result)).toBe('ok');
    expect(await store.getRun('before')).toMatchObject({ status: 'done', output: { a: 1 } });
    expect(await store.getRun('after')).toMatchObject({ status: 'done', output: { a: 2 } });
    // Refused at the door, with the problem and where it sits: nothing of them written.
    for (const [id, , message] of bad) {
      expect(thrown.get(id), id).toBeInstanceOf(InputValidationError);
      expect(thrown.get(id)).toMatchObject({
        code: 'INPUT_INVALID',
        workflowId: id,
        message: expect.stringMatching(message),
      });
      expect(engine.active.has(id)).toBe(false);
      expect(await store.getRun(id)).toBeUndefined();
    }
    expect(thrown.get('nul')).toMatchObject({
      code: 'CONFIGURATION_INVALID',
      message: expect.stringMatching(/U\+0000/),
    });
    await engine.close();
  });

  it('fails a step whose output it cannot hold once, without retrying it; the runs beside it are stored done', async () => {
    const store = await open();
    const calls = new Map<string, number>();
    const wf = workflow('unstorable-output')
      .step('a', { input: 'input', retry: { attempts: 3, backoff: 'fixed', initialMs: 10, jitter: 0 } })
      .build();
    const outputs: Record<string, () => unknown> = { deep: () => deep(5_000), bigint: () => ({ n: 1n }) };
    const engine = engineOn(store, {
      agents: {
        a: async (input: { kind: string }) => {
          calls.set(input.kind, (calls.get(input.kind) ?? 0) + 1);
          return outputs[input.kind]?.() ?? { ok: input.kind };
        },
      },
      workflows: [wf],
    });
    const results = new Map(
      ['good1', 'deep', 'bigint', 'good2'].map((kind) => [
        kind,
        within(engine.start(wf, { kind }, { id: kind }).result),
      ]),
    );
    expect(await results.get('good1')).toBe('ok');
    expect(await results.get('good2')).toBe('ok');
    for (const kind of ['deep', 'bigint']) {
      expect(await results.get(kind), kind).toBe('failed: STEP_FAILED');
      // Called once: the same output would not be stored on a retry either.
      expect(calls.get(kind), kind).toBe(1);
      const stored = await store.getRun(kind);
      expect(stored?.status).toBe('failed');
      expect(JSON.stringify(stored?.error)).toMatch(/OUTPUT_INVALID.*cannot be stored as JSON/);
    }
    expect(await store.getRun('good1')).toMatchObject({ status: 'done', output: { a: { ok: 'good1' } } });
    expect(await store.getRun('good2')).toMatchObject({ status: 'done', output: { a: { ok: 'good2' } } });
    await engine.close();
  });

  it('fails a map whose items it cannot hold once, saying where; the runs beside it are stored done', async () => {
    const store = await open();
    const items: Record<string, () => unknown[]> = { bigint: () => [1, 2n], deep: () => [deep(5_000)] };
    const wf = workflow('unstorable-map')
      .map('each', {
        items: (ctx) => items[(ctx.input as { kind: string }).kind]?.() ?? [1, 2],
        step: { agent: 'a' },
      })
      .build();
    const engine = engineOn(store, {
      agents: { a: async (x: unknown) => x },
      workflows: [wf],
      verify: false,
    });
    const results = new Map(
      ['good1', 'bigint', 'deep', 'good2'].map((kind) => [
        kind,
        outcome(engine.start(wf, { kind }, { id: kind }).result),
      ]),
    );
    for (const kind of ['good1', 'good2'])
      expect(await within(results.get(kind) as Promise<unknown>)).toBe('ok');
    expect((await results.get('bigint'))?.error).toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringMatching(/each\[1\]: cannot be stored as JSON: a BigInt has no JSON form/),
    });
    expect((await results.get('deep'))?.error).toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringMatching(/each: cannot be stored as JSON: it is nested too deep/),
    });
    for (const kind of ['bigint', 'deep']) {
      const stored = await store.getRun(kind);
      expect(stored?.status, kind).toBe('failed');
      expect(stored?.error).toMatchObject({ code: 'INPUT_INVALID', stepPath: 'each' });
    }
    expect(await store.getRun('good1')).toMatchObject({ status: 'done', output: { each: [1, 2] } });
    await engine.close();
  });

  it('refuses a signal whose payload it cannot hold; the run goes on waiting and takes the next one', async () => {
    const store = await open();
    const waits = workflow('unstorable-wait')
      .waitFor('approval', { event: 'approved', timeoutMs: 600_000 })
      .step('after', { input: 'results.approval' })
      .build();
    const escalates = workflow('unstorable-escalation')
      .step('review', { escalate: { to: 'human', timeoutMs: 600_000 } })
      .step('after', { input: 'results.review' })
      .build();
    const gate = deferred<void>();
    const engine = engineOn(store, {
      agents: {
        review: async () => {
          throw new Error('needs a human');
        },
        after: async (x: unknown) => ({ got: x }),
        a: async () => {
          await gate.promise;
          return 'a';
        },
      },
      workflows: [waits, escalates, gated],
    });
    const beside = [engine.start(gated, {}, { id: 'x1' }), engine.start(gated, {}, { id: 'x2' })];
    const w = engine.start(waits, {}, { id: 'w' });
    const e = engine.start(escalates, {}, { id: 'e' });
    await until(() => w.waitingSteps().includes('approval') && e.waitingSteps().includes('review'));
    const refused = await Promise.all(
      [
        engine.send('w', { type: 'approved', deep: deep(5_000) }),
        engine.send('w', { type: 'approved', n: 1n }, { signalId: 'named' }),
        engine.resolveEscalation('e', 'review', { action: 'skip', value: { n: 1n } }),
        engine.resolveEscalation('e', 'review', { action: 'skip', value: circular() }),
      ].map(outcome),
    );
    // Nothing of them was applied nor posted: both runs still wait, and take an ordinary signal.
    expect(w.waitingSteps()).toContain('approval');
    expect(e.waitingSteps()).toContain('review');
    expect(await within(engine.send('w', { type: 'approved', by: 'ann' }))).toBe('ok');
    expect(await within(engine.resolveEscalation('e', 'review', { action: 'skip', value: 'ok' }))).toBe('ok');
    gate.resolve();
    expect(await within(w.result)).toBe('ok');
    expect(await within(e.result)).toBe('ok');
    for (const run of beside) expect(await within(run.result)).toBe('ok');
    for (const id of ['w', 'e', 'x1', 'x2']) expect((await store.getRun(id))?.status, id).toBe('done');
    expect(await store.getRun('w')).toMatchObject({ output: { after: { got: { by: 'ann' } } } });
    for (const { error } of refused) {
      expect(error).toBeInstanceOf(InputValidationError);
      expect(error).toMatchObject({
        code: 'INPUT_INVALID',
        message: expect.stringMatching(/cannot be stored as JSON/),
      });
    }
    expect(refused[1]?.error).toMatchObject({
      message: expect.stringMatching(/event\.n: cannot be stored as JSON/),
    });
    expect(refused[2]?.error).toMatchObject({
      message: expect.stringMatching(/decision\.value\.n: cannot be stored as JSON/),
    });
    await engine.close();
  });

  it('refuses a migration that restarts a run with an input it cannot hold, and leaves the run as stored', async () => {
    const where = await target();
    const store = connect(where);
    const v1 = workflow('unstorable-migrate').waitFor('go', { event: 'go', timeoutMs: 600_000 }).build();
    const v2 = workflow('unstorable-migrate').step('a', { input: 'input' }).build();
    const first = engineOn(connect(where), { workflows: [v1] });
    first.start(v1, { v: 1 }, { id: 'old' });
    await first.flush();
    await first.close();
    const stored = await store.getRun('old');
    const gate = deferred<void>();
    const second = engineOn(connect(where), {
      agents: {
        a: async () => {
          await gate.promise;
          return 'a';
        },
      },
      workflows: [v2, gated],
      lease: { owner: 'second', ttlMs: 1_000, adopt: false },
      migrate: { 'unstorable-migrate': () => ({ action: 'restart', input: { n: 1n } }) },
    });
    const beside = [second.start(gated, {}, { id: 'y1' }), second.start(gated, {}, { id: 'y2' })];
    const resumed = outcome(second.resume('old'));
    await new Promise((r) => setTimeout(r, 100));
    gate.resolve();
    for (const run of beside) expect(await within(run.result)).toBe('ok');
    expect(await within(resumed.then(({ error }) => (error ? Promise.reject(error) : undefined)))).toBe(
      'failed: INPUT_INVALID',
    );
    expect((await resumed).error).toMatchObject({
      message: expect.stringMatching(/n: cannot be stored as JSON: a BigInt/),
    });
    expect(await store.getRun('old')).toMatchObject({
      status: stored?.status,
      version: v1.version,
      input: { v: 1 },
      snapshot: stored?.snapshot,
    });
    expect((await store.getRun('y1'))?.status).toBe('done');
    await second.close();
    await store.close();
  });

  it('writer: a claim or a checkpoint it cannot serialize is left out alone; the rest of the batch commits', async () => {
    const store = await open();
    const unwritable: string[] = [];
    let failures = 0;
    const writer = new BatchWriter(store, {
      onUnwritable: (id) => unwritable.push(id),
      onError: () => failures++,
    });
    const now = Date.now();
    const row = (id: string, fields: Partial<StoredRun> = {}): StoredRun => ({
      id,
      workflow: 'w',
      version: 'v',
      status: 'running',
      input: { id },
      snapshot: '',
      createdAt: now,
      updatedAt: now,
      ...fields,
    });
    const claim = (run: StoredRun) => writer.claim({ run, owner: 'o', leaseUntil: now + 60_000 });
    const claims = [
      claim(row('ok1')),
      claim(row('bad-deep', { input: deep(5_000) })),
      claim(row('bad-bigint', { input: { n: 1n } })),
      claim(row('ok2')),
    ].map(outcome);
    expect(await within(Promise.all(claims))).toBe('ok');
    const [ok1, badDeep, badBig, ok2] = await Promise.all(claims);
    expect([ok1?.value, ok2?.value]).toEqual([true, true]);
    expect(badDeep?.error).toBeInstanceOf(RangeError);
    expect(badBig?.error).toBeInstanceOf(TypeError);
    expect(await store.getRun('ok1')).toMatchObject({ status: 'running', input: { id: 'ok1' } });
    expect(await store.getRun('bad-deep')).toBeUndefined();
    expect(await store.getRun('bad-bigint')).toBeUndefined();
    const lease = { owner: 'o', epoch: 1 };
    const checkpoints = [
      writer.checkpoint('ok1', () => ({
        run: row('ok1', { status: 'done', output: { n: 2n } }),
        timers: [],
        lease,
      })),
      writer.checkpoint('ok2', () => ({
        run: row('ok2', { input: deep(5_000) }),
        timers: [],
        lease,
        resetJournal: true,
      })),
    ];
    const fine = claim(row('ok3'));
    expect(await within(Promise.all([...checkpoints, fine]))).toBe('ok');
    expect(unwritable.sort()).toEqual(['ok1', 'ok2']);
    expect(await store.getRun('ok1')).toMatchObject({ status: 'running' });
    expect(await store.getRun('ok3')).toMatchObject({ status: 'running', input: { id: 'ok3' } });
    expect(failures).toBe(0);
    await writer.flush();
    await store.close();
  });

  it('replicas: a bad start leaves the engine writing, and a replica adopts its runs once it dies', async () => {
    const where = await target();
    const inner = connect(where);
    let dead = false;
    const never = new Promise<never>(() => {});
    // Dies as a frozen or killed process does: nothing more reaches the store, nor comes back from it.
    const dying = new Proxy(inner, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function' || key === 'close') return value;
        return (...args: unknown[]) =>
          dead ? never : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    const wf = workflow('unstorable-replicas')
      .step('a', { input: 'input' })
      .step('b', { input: 'results.a' })
      .build();
    const gates = new Map([
      ['r1', deferred<void>()],
      ['r2', deferred<void>()],
    ]);
    const lease = { ttlMs: 600, adopt: true };
    const a = testEngine({
      store: dying,
      workflows: [wf],
      lease: { ...lease, owner: 'A' },
      agents: {
        a: async (x: { id: string }) => {
          await gates.get(x.id)?.promise;
          return x.id;
        },
        b: async (x: string) => x,
      },
    });
    const r1 = a.start(wf, { id: 'r1' }, { id: 'r1' });
    a.start(wf, { id: 'r2' }, { id: 'r2' });
    await a.flush();
    let refused: unknown;
    try {
      a.start(wf, deep(5_000), { id: 'bad' });
    } catch (error) {
      refused = error;
    }
    const r3 = a.start(wf, { id: 'r3' }, { id: 'r3' });
    gates.get('r1')?.resolve();
    expect(await within(r1.result)).toBe('ok');
    expect(await within(r3.result)).toBe('ok');
    expect((await inner.getRun('r1'))?.status).toBe('done');
    expect((await inner.getRun('r3'))?.status).toBe('done');
    expect(refused).toBeInstanceOf(InputValidationError);
    // A dies with r2 in flight (its agent never answers there); B takes r2 once A's lease expired.
    dead = true;
    const b = testEngine({
      store: connect(where),
      workflows: [wf],
      lease: { ...lease, owner: 'B' },
      agents: { a: async (x: { id: string }) => x.id, b: async (x: string) => x },
    });
    await until(async () => (await inner.getRun('r2'))?.status === 'done');
    expect(await inner.getRun('r2')).toMatchObject({ owner: 'B', output: { a: 'r2', b: 'r2' } });
    expect(await inner.getRun('bad')).toBeUndefined();
    await b.close();
    await inner.close();
  });
});
