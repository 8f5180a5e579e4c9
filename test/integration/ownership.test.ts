import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  type AgentContext,
  type EngineOptions,
  InputValidationError,
  sqliteStore,
  type WorkflowStore,
  workflow,
} from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { deferred, testEngine } from '../support/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'flowstate-owner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = () => join(dir, `${Math.random().toString(36).slice(2)}.db`);
const never = () => new Promise<never>(() => {});
const until = async (check: () => boolean | Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};
const engineOn = (store: WorkflowStore, owner: string, options: EngineOptions = {}) =>
  testEngine({ store, lease: { owner, ttlMs: 300, adopt: false }, inbox: { pollMs: 10 }, ...options });

const twoSteps = workflow('own-two').step('a').step('b', { input: 'results.a' }).build();
const approval = workflow('own-approval')
  .step('plan')
  .waitFor('approve', { event: 'approved', schema: z.object({ by: z.string().min(1) }), timeoutMs: 600_000 })
  .step('review', { escalate: { to: 'human', timeoutMs: 60_000 } })
  .build();

describe('a result is durable', () => {
  it.each([
    ['memory', () => memoryStore()],
    ['sqlite', () => sqliteStore(file())],
  ])('on %s: engine.get right after the result agrees, 20 times out of 20', async (_name, open) => {
    const engine = engineOn(open(), 'n1', { agents: { a: () => 'A', b: (x: string) => `${x}B` } });
    for (let i = 0; i < 20; i++) {
      const run = engine.start(twoSteps, {}, { id: `r${i}` });
      await expect(run.result).resolves.toEqual({ a: 'A', b: 'AB' });
      expect(await engine.get(`r${i}`)).toMatchObject({ status: 'done', output: { a: 'A', b: 'AB' } });
    }
    await engine.close();
  });

  it('keeps a result waiting while the store is down, and resolves it once the commit lands', async () => {
    const inner = memoryStore();
    let down = false;
    const store: WorkflowStore = {
      ...inner,
      write: (batch) => (down ? Promise.reject(new Error('connection refused')) : inner.write(batch)),
    };
    const a = vi.fn(() => 'A');
    const gate = deferred<string>();
    const engine = engineOn(store, 'n1', { agents: { a, b: () => gate.promise } });
    const run = engine.start(twoSteps, {}, { id: 'down' });
    await until(async () => (await inner.getJournal('down:a:1')) !== undefined);
    down = true;
    gate.resolve('AB');
    let settled = false;
    void run.result.finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    down = false;
    await expect(run.result).resolves.toEqual({ a: 'A', b: 'AB' });
    expect(await engine.get('down')).toMatchObject({ status: 'done' });
    expect(a).toHaveBeenCalledTimes(1);
    await engine.close();
  });
});

describe('one owner per run', () => {
  it('lets one of two engines starting one id call agents; the other is refused before any call', async () => {
    const store = memoryStore();
    for (let i = 0; i < 20; i++) {
      const calls: string[] = [];
      const agent = (who: string) => (_: unknown, ctx: AgentContext) => {
        calls.push(`${who}:${ctx.idempotencyKey}`);
        return who;
      };
      const e1 = engineOn(store, 'e1', { agents: { a: agent('e1'), b: agent('e1') } });
      const e2 = engineOn(store, 'e2', { agents: { a: agent('e2'), b: agent('e2') } });
      const [r1, r2] = [
        e1.start(twoSteps, {}, { id: `same-${i}` }),
        e2.start(twoSteps, {}, { id: `same-${i}` }),
      ];
      const outcomes = await Promise.allSettled([r1.result, r2.result]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o) => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'RUN_ID_TAKEN' });
      expect(new Set(calls.map((c) => c.split(':')[0])).size).toBe(1);
      await Promise.all([e1.close(), e2.close()]);
    }
  });

  it('stops a copy whose lease another engine took: its agent signal fires, its result rejects, it writes nothing', async () => {
    const store = memoryStore();
    let aborted: unknown;
    const e1 = engineOn(store, 'e1', {
      agents: {
        a: () => 'A',
        b: (_: unknown, ctx: AgentContext) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => {
              aborted = ctx.signal.reason;
              reject(ctx.signal.reason);
            }),
          ),
      },
    });
    const run = e1.start(twoSteps, {}, { id: 'fenced' });
    await until(async () => (await store.getJournal('fenced:a:1')) !== undefined);
    // e1 stalls past its lease (as in a long GC pause or a partition): e2 takes the run and finishes it.
    const taken = await store.acquire('fenced', 'e2', Date.now() + 10_000, Date.now() + 20_000);
    expect(taken?.epoch).toBe(2);
    const e2 = engineOn(store, 'e2', {
      agents: { a: never, b: (x: string) => `${x}+e2` },
      workflows: [twoSteps],
    });
    const adopted = await e2.resume('fenced');
    await expect(adopted.result).resolves.toEqual({ a: 'A', b: 'A+e2' });
    await expect(run.result).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(aborted).toBeDefined();
    expect(await store.getRun('fenced')).toMatchObject({ status: 'done', output: { a: 'A', b: 'A+e2' } });
    await Promise.all([e1.close(), e2.close()]);
  });

  it('hands runs over on close(): another engine adopts them at once, and recover() skips runs a live engine owns', async () => {
    const path = file();
    const gate = deferred<string>();
    const e1 = engineOn(sqliteStore(path), 'e1', {
      agents: { a: () => 'A', b: () => gate.promise },
      workflows: [twoSteps],
    });
    const run = e1.start(twoSteps, {}, { id: 'handover' });
    await until(async () => (await e1.get('handover'))?.status === 'running' && e1.active.size === 1);
    const e2 = engineOn(sqliteStore(path), 'e2', {
      agents: { a: never, b: () => 'B2' },
      workflows: [twoSteps],
    });
    expect(await e2.recover()).toEqual([]);
    await e1.close();
    await expect(run.result).rejects.toMatchObject({ code: 'LEASE_LOST' });
    const [resumed] = await e2.recover();
    await expect(resumed?.result).resolves.toEqual({ a: 'A', b: 'B2' });
    await e2.close();
  });

  it('adopts a run whose owner died once its lease expires, in the background', async () => {
    const store = memoryStore();
    // e1's renewals never reach the store (a dead process, a partition): its lease runs out after 300 ms.
    const unreachable: WorkflowStore = { ...store, renew: () => Promise.reject(new Error('unreachable')) };
    const e1 = engineOn(unreachable, 'e1', { agents: { a: () => 'A', b: never } });
    const stale = e1.start(twoSteps, {}, { id: 'orphan' });
    const e2 = testEngine({
      store,
      lease: { owner: 'e2', ttlMs: 300, adopt: true },
      agents: { a: never, b: () => 'B' },
      workflows: [twoSteps],
    });
    await until(async () => (await store.getRun('orphan'))?.status === 'done', 5_000);
    expect((await store.getRun('orphan'))?.output).toEqual({ a: 'A', b: 'B' });
    // The stale copy cannot reach the store's leases: it stays put (it calls no new agent once its lease may have
    // expired) until it learns, at a write or renewal, that another engine owns the run.
    expect(stale.status).toBe('running');
    await e2.close();
  });
});

describe('signals from any process', () => {
  it('applies send, resolveEscalation and cancel from another engine through the inbox, with typed refusals', async () => {
    const inner = memoryStore();
    const posted: string[] = [];
    const store: WorkflowStore = {
      ...inner,
      post: (message) => {
        posted.push(message.id);
        return inner.post(message);
      },
    };
    const owner = engineOn(store, 'owner', {
      agents: {
        plan: () => 'p',
        review: async () => {
          throw new Error('needs a human');
        },
      },
      workflows: [approval],
    });
    const run = owner.start(approval, {}, { id: 'sig' });
    const other = engineOn(store, 'other', {});
    await until(() => run.waitingSteps().includes('approve'));
    const bad = await other.send('sig', { type: 'approved', by: '' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InputValidationError);
    expect(bad).toMatchObject({ code: 'INPUT_INVALID', issues: [{ path: ['by'] }] });
    await expect(other.resolveEscalation('sig', 'review', { action: 'skip' })).rejects.toMatchObject({
      code: 'CONFIGURATION_INVALID',
    });
    await expect(other.send('sig', { type: 'approved', by: 'ann' })).resolves.toBe(true);
    await until(() => run.waitingSteps().includes('review'));
    await other.resolveEscalation('sig', 'review', { action: 'skip', value: 'ok' });
    await expect(run.result).resolves.toEqual({ plan: 'p', approve: { by: 'ann' }, review: 'ok' });
    // Every answered signal was read by its sender and forgotten: the inbox keeps none of them.
    expect(posted.length).toBe(4);
    for (const id of posted) expect(await store.getMessage(id)).toBeUndefined();
    await expect(other.send('nope', { type: 'x' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });

    const second = owner.start(approval, {}, { id: 'sig2' });
    await until(() => second.waitingSteps().length > 0);
    await other.cancel('sig2', 'operator said so');
    await expect(second.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await store.getRun('sig2')).toMatchObject({ status: 'cancelled' });
    await Promise.all([owner.close(), other.close()]);
  });

  it('times out with a typed error when the owner does not apply it, and the signal stays queued', async () => {
    const store = memoryStore();
    const e1 = engineOn(store, 'e1', { agents: { plan: () => 'p', review: never } });
    e1.start(approval, {}, { id: 'slow' });
    await until(async () => (await store.getRun('slow'))?.status === 'waiting');
    await e1.close();
    // An owner that holds the lease but never reads its inbox (a frozen process).
    await store.acquire('slow', 'frozen', Date.now(), Date.now() + 60_000);
    const other = engineOn(store, 'other', {});
    await expect(
      other.send('slow', { type: 'approved', by: 'ann' }, { timeoutMs: 50 }),
    ).rejects.toMatchObject({
      code: 'SIGNAL_TIMEOUT',
    });
    expect((await store.pendingFor('frozen', 10)).map((m) => m.kind)).toEqual(['event']);
    await other.close();
  });

  it('cancels a stored run nobody owns and whose definition this engine lacks, in the store', async () => {
    const store = memoryStore();
    const e1 = engineOn(store, 'e1', { agents: { a: () => 'A', b: never } });
    e1.start(twoSteps, {}, { id: 'abandoned' });
    await until(async () => (await store.getJournal('abandoned:a:1')) !== undefined);
    await store.release('e1', [{ id: 'abandoned', epoch: 1 }]);
    const operator = engineOn(store, 'op', {});
    await operator.cancel('abandoned', 'cleanup');
    expect(await store.getRun('abandoned')).toMatchObject({
      status: 'cancelled',
      error: { code: 'CANCELLED', message: expect.stringContaining('cleanup') },
    });
    await operator.close();
  });
});

describe('definition versions', () => {
  const v1 = workflow('own-mig').step('a').step('b', { input: 'results.a' }).build();
  const v2 = workflow('own-mig').step('a').step('b', { input: 'results.a', timeoutMs: 5_000 }).build();
  const started = async (store: WorkflowStore, id: string) => {
    const e1 = engineOn(store, 'e1', { agents: { a: () => 'A', b: never }, workflows: [v1] });
    e1.start(v1, {}, { id });
    await until(async () => (await store.getJournal(`${id}:a:1`)) !== undefined);
    await e1.close();
  };

  it('marks a run of a changed definition failed with DefinitionVersionError when no hook decides', async () => {
    const store = memoryStore();
    await started(store, 'm0');
    const e2 = engineOn(store, 'e2', { agents: { a: () => 'A', b: () => 'B' }, workflows: [v2] });
    expect(await e2.recover()).toEqual([]);
    expect(await store.getRun('m0')).toMatchObject({ status: 'failed', error: { code: 'VERSION_MISMATCH' } });
    await e2.close();
  });

  it('migrates by snapshot, restarts from the input with a fresh journal, or cancels, as the hook says', async () => {
    const store = memoryStore();
    for (const id of ['snap', 'restart', 'cancel']) await started(store, id);
    const a = vi.fn(() => 'A2');
    const e2 = engineOn(store, 'e2', {
      agents: { a, b: (x: string) => `${x}+B` },
      workflows: [v2],
      migrate: {
        'own-mig': ({ id, snapshot, version }) => {
          expect(version).toBe(v1.version);
          if (id === 'snap') return { action: 'snapshot', snapshot };
          if (id === 'restart') return { action: 'restart' };
          return { action: 'cancel', reason: 'obsolete' };
        },
      },
    });
    const runs = await e2.recover();
    expect(runs.map((r) => r.id).sort()).toEqual(['restart', 'snap']);
    const byId = Object.fromEntries(runs.map((r) => [r.id, r]));
    await expect(byId.snap?.result).resolves.toEqual({ a: 'A', b: 'A+B' });
    await expect(byId.restart?.result).resolves.toEqual({ a: 'A2', b: 'A2+B' });
    expect(a).toHaveBeenCalledTimes(1);
    expect(await store.getRun('snap')).toMatchObject({ status: 'done', version: v2.version });
    expect(await store.getRun('cancel')).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    await e2.close();
  });
});

describe('store faults', () => {
  it('notices a SQLite file deleted under it: writes fail and are retried, no run is failed', async () => {
    const path = file();
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    const gate = deferred<string>();
    const engine = testEngine({
      store: sqliteStore(path),
      logger,
      lease: { owner: 'n', adopt: false },
      agents: { a: () => gate.promise, b: () => 'B' },
    });
    const run = engine.start(twoSteps, {}, { id: 'deleted' });
    await until(async () => (await engine.get('deleted'))?.status === 'running' && engine.active.size === 1);
    unlinkSync(path);
    gate.resolve('A');
    await until(() => errors.some((l) => l.includes('deleted or replaced')));
    expect(run.status).toBe('running');
    expect(engine.active.size).toBe(1);
  });
});

describe('edges found in review', () => {
  it('does not time an attempt out while its output waits for a slow commit', async () => {
    const inner = memoryStore();
    const store: WorkflowStore = {
      ...inner,
      write: async (batch) => {
        if (batch.journal.length > 0) await new Promise((r) => setTimeout(r, 300));
        return inner.write(batch);
      },
    };
    const a = vi.fn(() => 'A');
    const engine = engineOn(store, 'n', {
      agents: { a, b: (x: string) => `${x}B` },
    });
    const wf = workflow('own-slow')
      .step('a', { timeoutMs: 100, retry: { attempts: 3, initialMs: 1 } })
      .build();
    await expect(engine.start(wf, {}, { id: 'slow-commit' }).result).resolves.toEqual({ a: 'A' });
    expect(a).toHaveBeenCalledTimes(1);
    await engine.close();
  });

  it('refuses a signal to a run that just ended instead of taking it again', async () => {
    const store = memoryStore();
    const engine = engineOn(store, 'n', { agents: { a: () => 'A', b: () => 'B' }, workflows: [twoSteps] });
    const run = engine.start(twoSteps, {}, { id: 'just-ended' });
    await until(() => engine.active.size === 0);
    const late = engine.send('just-ended', { type: 'x' }).catch((e: unknown) => e);
    await expect(run.result).resolves.toEqual({ a: 'A', b: 'B' });
    expect(await late).toMatchObject({ code: 'CONFIGURATION_INVALID' });
    expect(await store.getRun('just-ended')).toMatchObject({ status: 'done', epoch: 1 });
    await engine.close();
  });

  it('never calls an agent of a run started right before close(), and hands the run over', async () => {
    const store = memoryStore();
    const a = vi.fn(() => 'A');
    const engine = engineOn(store, 'n', { agents: { a, b: () => 'B' } });
    const run = engine.start(twoSteps, {}, { id: 'closing' });
    await engine.close();
    await expect(run.result).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(() => engine.start(twoSteps, {}, { id: 'after' })).toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 20));
    expect(a).not.toHaveBeenCalled();
    const stored = await store.getRun('closing');
    if (stored) expect(stored).toMatchObject({ status: 'running', leaseUntil: 0 });
  });

  it('stops a copy whose renewals failed past its lease before any waiting agent call goes on', async () => {
    const inner = memoryStore();
    let unreachable = false;
    const flaky: WorkflowStore = {
      ...inner,
      renew: (owner, until) =>
        unreachable ? Promise.reject(new Error('partition')) : inner.renew(owner, until),
    };
    const calls: string[] = [];
    const gate = deferred<string>();
    const e1 = engineOn(flaky, 'e1', {
      agents: {
        a: () => gate.promise,
        b: () => {
          calls.push('e1');
          return 'B1';
        },
      },
    });
    const stale = e1.start(twoSteps, {}, { id: 'partitioned' });
    await until(
      async () => (await inner.getRun('partitioned'))?.status === 'running' && e1.active.size === 1,
    );
    unreachable = true;
    await new Promise((r) => setTimeout(r, 450));
    // e1's lease (300 ms) has run out unrenewed: its next agent call must wait at the gate.
    gate.resolve('A');
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([]);
    const e2 = engineOn(inner, 'e2', {
      agents: {
        a: never,
        b: () => {
          calls.push('e2');
          return 'B2';
        },
      },
      workflows: [twoSteps],
    });
    const taken = await e2.resume('partitioned');
    await expect(taken.result).resolves.toMatchObject({ b: 'B2' });
    unreachable = false;
    await expect(stale.result).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(calls).toEqual(['e2']);
    await Promise.all([e1.close(), e2.close()]);
  });

  it('stops only the run whose state cannot be stored; the others of its batch are written', async () => {
    const store = memoryStore();
    const engine = engineOn(store, 'n', {
      agents: {
        plan: () => 'p',
        review: async () => {
          throw new Error('needs a human');
        },
      },
    });
    const bad = engine.start(approval, {}, { id: 'bigint' });
    const good = engine.start(approval, {}, { id: 'fine' });
    await until(() => bad.waitingSteps().includes('approve') && good.waitingSteps().includes('approve'));
    bad.send({ type: 'approved', by: 'ann' });
    good.send({ type: 'approved', by: 'bob' });
    await until(() => bad.waitingSteps().includes('review') && good.waitingSteps().includes('review'));
    bad.resolveEscalation('review', { action: 'skip', value: 10n });
    good.resolveEscalation('review', { action: 'skip', value: 'ok' });
    await expect(good.result).resolves.toMatchObject({ review: 'ok' });
    await expect(bad.result).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await store.getRun('fine')).toMatchObject({ status: 'done' });
    await engine.close();
  });
});
