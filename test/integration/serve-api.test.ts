import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createServeApp } from '../../src/cli/serve/app.js';
import { RunViews } from '../../src/cli/serve/run-view.js';
import { type AnyWorkflowDefinition, type Engine, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StoredRun } from '../../src/persistence/types.js';
import { testEngine } from '../support/engine.js';

const review = workflow('api-review')
  .step('fetch')
  .step('review', { retry: { attempts: 1 }, escalate: { to: 'human', timeoutMs: 600_000 } })
  .build();
const approval = workflow('api-approval')
  .waitFor('approval', { event: 'approved', schema: z.object({ by: z.string() }), timeoutMs: 600_000 })
  .build();
const store = memoryStore();
const engines: Engine[] = [];
const { app, close } = createServeApp({
  store,
  workflows: new Map<string, AnyWorkflowDefinition>([
    [review.id, review],
    [approval.id, approval],
  ]),
  registry: new Registry(),
  assets: new Map([
    ['/index.html', { body: new TextEncoder().encode('<!doctype html>'), type: 'text/html' }],
  ]),
  token: 't0ken',
  pollMs: 10,
});
afterAll(async () => {
  close();
  for (const e of engines) await e.close();
});

const json = async (path: string, init?: RequestInit) => {
  const response = await app.request(path, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const post = (path: string, body: unknown, token = 't0ken') =>
  json(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
async function eventually(check: () => Promise<boolean>) {
  for (const started = Date.now(); Date.now() - started < 5_000; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met in time');
}

describe('the web view API', () => {
  it('pages and filters the runs list in the store, newest first', async () => {
    const runs: StoredRun[] = Array.from({ length: 7 }, (_, i) => ({
      id: `old-${i}`,
      workflow: i < 5 ? 'api-review' : 'other',
      version: 'v',
      status: i === 0 ? 'failed' : 'done',
      input: {},
      snapshot: '',
      createdAt: 1_000 + i,
      updatedAt: 2_000 + i,
      ...(i === 0
        ? {
            error: {
              name: 'StepFailedError',
              code: 'STEP_FAILED',
              message: 'boom',
              compensationErrors: [
                {
                  name: 'StepFailedError',
                  message: "Step 'a/compensate' failed after 1 attempt",
                  stepPath: 'a/compensate',
                  cause: { name: 'Error', message: 'undo refused' },
                },
              ],
            },
          }
        : {}),
    }));
    await store.write({
      claims: runs.map((run) => ({ run, owner: 'x', leaseUntil: 0 })),
      runs: [],
      journal: [],
    });
    // A page size or offset that is no count is a 400, as the CLI refuses --limit -3 (it was read as 50).
    expect(await json('/api/runs?limit=abc')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^limit/) },
    });
    expect((await json('/api/runs?offset=-1')).status).toBe(400);
    const page = await json('/api/runs?limit=3&offset=1&workflow=api-review');
    expect(page.status).toBe(200);
    expect((page.body.runs as Array<{ id: string }>).map((r) => r.id)).toEqual(['old-3', 'old-2', 'old-1']);
    expect(page.body).toMatchObject({ total: 5, more: true, offset: 1, limit: 3 });
    const failed = await json('/api/runs?status=failed');
    expect(failed.body.runs).toEqual([
      expect.objectContaining({
        id: 'old-0',
        durationMs: 1_000,
        percent: null,
        error: {
          message: 'boom',
          code: 'STEP_FAILED',
          // The compensations that failed: what the run did not undo.
          notUndone: [
            { stepPath: 'a/compensate', message: "Step 'a/compensate' failed after 1 attempt: undo refused" },
          ],
        },
      }),
    ]);
    expect((failed.body.runs as object[])[0]).not.toHaveProperty('input');
    // Nor the engine's snapshot: internal state, megabytes for a big map.
    expect((failed.body.runs as object[])[0]).not.toHaveProperty('snapshot');
    expect((await json('/api/runs?status=nope')).status).toBe(400);
  });

  it('shows a live run: its step log, active states, what waits; a decision from the API lets it finish', async () => {
    const engine = testEngine({
      store,
      workflows: [review],
      inbox: { pollMs: 10 },
      agents: {
        fetch: async () => 'rows',
        review: async () => {
          throw new Error('needs a human');
        },
      },
    });
    engines.push(engine);
    const run = engine.start(review, {}, { id: 'live-1' });
    await eventually(async () => (await engine.get('live-1'))?.status === 'waiting');
    const { status, body } = await json('/api/runs/live-1');
    expect(status).toBe(200);
    // The step log and states are read from the snapshot; the snapshot itself is not served, in the detail or a row.
    expect(body.run).not.toHaveProperty('snapshot');
    expect(body).not.toHaveProperty('snapshot');
    const listed = (await json('/api/runs?status=waiting')).body.runs as Array<{ id: string }>;
    expect(listed.find((r) => r.id === 'live-1')).toMatchObject({ id: 'live-1', percent: 50 });
    expect(listed.find((r) => r.id === 'live-1')).not.toHaveProperty('snapshot');
    expect(body.active).toEqual(['api-review.review']);
    expect(body.waiting).toEqual([expect.objectContaining({ path: 'review', kind: 'escalation' })]);
    const steps = body.steps as Array<{
      path: string;
      status: string;
      attempts: Array<{ error?: { message: string } }>;
    }>;
    expect(steps.map((s) => [s.path, s.status])).toEqual([
      ['fetch', 'done'],
      ['review', 'escalated'],
    ]);
    expect(steps[1]?.attempts[0]?.error?.message).toBe('needs a human');
    expect((body.chart as { nodes: Array<{ label: string }> }).nodes.map((n) => n.label)).toContain('review');

    // The stream sends the run at once.
    const stream = await app.request('/api/runs/live-1/events');
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: run\ndata: \{"run":\{"id":"live-1"/);
    await reader.cancel();

    expect(
      await post('/api/runs/live-1/decide', { stepPath: 'review', action: 'skip', value: 'ok' }, 'wrong'),
    ).toMatchObject({ status: 401, body: { error: expect.stringContaining('wrong token') } });
    expect((await post('/api/runs/live-1/decide', { stepPath: 'review', action: 'maybe' })).status).toBe(400);
    const refused = await post('/api/runs/live-1/decide', { stepPath: 'fetch', action: 'retry' });
    expect(refused).toMatchObject({ status: 409, body: { applied: false, code: 'CONFIGURATION_INVALID' } });
    const applied = await post('/api/runs/live-1/decide', {
      stepPath: 'review',
      action: 'skip',
      value: 'ok',
    });
    expect(applied).toMatchObject({ status: 200, body: { applied: true } });
    expect(await run.result).toEqual({ fetch: 'rows', review: 'ok' });
    expect((await post('/api/runs/live-1/cancel', {})).status).toBe(409);
    expect((await json('/api/runs/nope')).status).toBe(404);
  });

  it('sends a waitFor event and cancels through the inbox; a bad payload is refused by the owner', async () => {
    const engine = testEngine({ store, workflows: [approval], inbox: { pollMs: 10 } });
    engines.push(engine);
    const a = engine.start(approval, {}, { id: 'wait-1' });
    const b = engine.start(approval, {}, { id: 'wait-2' });
    void b.result.catch(() => {});
    await eventually(async () => (await engine.get('wait-2'))?.status === 'waiting');
    const detail = await json('/api/runs/wait-1');
    expect(detail.body.waiting).toEqual([
      expect.objectContaining({ path: 'approval', kind: 'wait', event: 'approved' }),
    ]);
    const bad = await post('/api/runs/wait-1/send', { event: { type: 'approved', by: 7 } });
    expect(bad).toMatchObject({ status: 409, body: { code: 'INPUT_INVALID' } });
    expect(await post('/api/runs/wait-1/send', { event: { type: 'approved', by: 'ann' } })).toMatchObject({
      status: 200,
      body: { applied: true, result: true },
    });
    expect(await a.result).toEqual({ approval: { by: 'ann' } });
    expect((await post('/api/runs/wait-2/cancel', { reason: 'enough' })).body).toMatchObject({
      applied: true,
    });
    await expect(b.result).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('applies a request sent again under its Idempotency-Key once, answered alike, even once the run ended', async () => {
    const engine = testEngine({ store, workflows: [approval], inbox: { pollMs: 10 } });
    engines.push(engine);
    const run = engine.start(approval, {}, { id: 'keyed-1' });
    await eventually(async () => (await engine.get('keyed-1'))?.status === 'waiting');
    const send = (by: string, key = 'k-1') =>
      json('/api/runs/keyed-1/send', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer t0ken',
          'idempotency-key': key,
        },
        body: JSON.stringify({ event: { type: 'approved', by } }),
      });
    expect(await send('ann')).toMatchObject({ status: 200, body: { applied: true, result: true } });
    expect(await run.result).toEqual({ approval: { by: 'ann' } });
    // The run ended: the same request still gets its answer; another key is another signal (refused); the key
    // reused for a different request is refused.
    expect(await send('ann')).toMatchObject({ status: 200, body: { applied: true, result: true } });
    expect(await send('ann', 'k-2')).toMatchObject({ status: 409, body: { code: 'CONFIGURATION_INVALID' } });
    expect(await send('bob')).toMatchObject({ status: 409, body: { code: 'CONFIGURATION_INVALID' } });
  });

  it('a request queued (202) and sent again under its key is applied once, when an engine takes the run', async () => {
    const own = memoryStore();
    const api = createServeApp({
      store: own,
      workflows: new Map([[approval.id, approval]]),
      registry: new Registry(),
      assets: new Map(),
      token: 't',
      pollMs: 10,
      signalTimeoutMs: 50,
    });
    const first = testEngine({ store: own, workflows: [approval] });
    first.start(approval, {}, { id: 'queued-1' });
    await eventually(async () => (await first.get('queued-1'))?.status === 'waiting');
    await first.close(); // no live engine now
    const send = async () => {
      const response = await api.app.request('/api/runs/queued-1/send', {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'idempotency-key': 'q-1' },
        body: JSON.stringify({ event: { type: 'approved', by: 'ann' } }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await send()).toMatchObject({ status: 202, body: { queued: true } });
    expect(await send()).toMatchObject({ status: 202, body: { queued: true } });
    const second = testEngine({ store: own, workflows: [approval], inbox: { pollMs: 10 } });
    const [taken] = await second.recover();
    const woken = taken ?? (await second.resume('queued-1'));
    await expect(woken.result).resolves.toEqual({ approval: { by: 'ann' } });
    expect(await send()).toMatchObject({ status: 200, body: { applied: true, result: true } });
    await second.close();
    api.close();
  });

  it('refuses at once what a run no engine holds would refuse, instead of queueing it (202) unread', async () => {
    const own = memoryStore();
    const api = createServeApp({
      store: own,
      workflows: new Map<string, AnyWorkflowDefinition>([
        [review.id, review],
        [approval.id, approval],
      ]),
      registry: new Registry(),
      assets: new Map(),
      token: 't',
      pollMs: 10,
      signalTimeoutMs: 50,
    });
    const failing = { review: () => Promise.reject(new Error('no')), fetch: () => 'rows' };
    const first = testEngine({ store: own, workflows: [review, approval], agents: failing });
    first.start(review, {}, { id: 'released-review' });
    first.start(approval, {}, { id: 'released-wait' });
    await eventually(
      async () =>
        (await first.get('released-review'))?.status === 'waiting' &&
        (await first.get('released-wait'))?.status === 'waiting',
    );
    await first.close(); // released: no live engine holds them
    const post = async (path: string, body: unknown) => {
      const response = await api.app.request(path, {
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(
      await post('/api/runs/released-review/decide', { stepPath: 'reveiw', action: 'retry' }),
    ).toMatchObject({
      status: 409,
      body: {
        code: 'CONFIGURATION_INVALID',
        error: expect.stringContaining('steps waiting for one: review'),
      },
    });
    expect(await post('/api/runs/released-wait/send', { event: { type: 'aproved' } })).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining('events awaited: approved') },
    });
    // A run waiting on an escalation only takes no event at all (found by a new user: it was queued).
    expect(await post('/api/runs/released-review/send', { event: { type: 'go' } })).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining('events awaited: none') },
    });
    // What the run would take is queued for the engine that takes it next.
    expect(
      await post('/api/runs/released-review/decide', { stepPath: 'review', action: 'retry' }),
    ).toMatchObject({
      status: 202,
    });
    expect(
      await post('/api/runs/released-wait/send', { event: { type: 'approved', by: 'x' } }),
    ).toMatchObject({
      status: 202,
    });
    api.close();
  });

  it('refuses a body that is not a JSON object with a 400 that says so', async () => {
    const raw = (body: string) =>
      json('/api/runs/wait-1/decide', { method: 'POST', headers: { authorization: 'Bearer t0ken' }, body });
    expect(await raw('stepPath=review')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/not JSON/) },
    });
    expect(await raw('[1]')).toMatchObject({ status: 400, body: { error: 'the body is a JSON object' } });
  });

  it('refuses an Idempotency-Key longer than a signal name may be with a 400, on every path', async () => {
    const long = 'k'.repeat(201);
    for (const path of ['/api/runs/wait-1/decide', '/api/runs/wait-1/send', '/api/runs/nobody/cancel']) {
      const answer = await json(path, {
        method: 'POST',
        headers: { authorization: 'Bearer t0ken', 'idempotency-key': long },
        body: JSON.stringify({ stepPath: 'review', action: 'skip', event: { type: 'x' } }),
      });
      expect(answer).toMatchObject({
        status: 400,
        body: { error: expect.stringMatching(/Idempotency-Key/) },
      });
    }
  });

  it('shows a passivated run from the store; a decision posted through the API wakes it', async () => {
    const engine = testEngine({
      store,
      workflows: [review],
      inbox: { pollMs: 10 },
      passivate: { afterMs: 30, wakeAheadMs: 10, pollMs: 20 },
      agents: {
        fetch: async () => 'rows',
        review: async () => {
          throw new Error('needs a human');
        },
      },
    });
    engines.push(engine);
    const run = engine.start(review, {}, { id: 'parked-1' });
    await eventually(async () => engine.active.size === 0 && (await engine.get('parked-1'))?.idle === true);
    const { status, body } = await json('/api/runs/parked-1');
    expect(status).toBe(200);
    expect(body.waiting).toEqual([expect.objectContaining({ path: 'review', kind: 'escalation' })]);
    expect((body.steps as Array<{ path: string; status: string }>).map((s) => [s.path, s.status])).toEqual([
      ['fetch', 'done'],
      ['review', 'escalated'],
    ]);
    // The API only posts to the inbox: the passivating engine's scheduler sees the signal and wakes the run.
    const applied = await post('/api/runs/parked-1/decide', {
      stepPath: 'review',
      action: 'skip',
      value: 'later',
    });
    expect(applied).toMatchObject({ status: 200, body: { applied: true } });
    expect(await run.result).toEqual({ fetch: 'rows', review: 'later' });
  });

  it('tells the list stream which runs started, moved or ended', async () => {
    const stream = await app.request('/api/runs/events');
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const read = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await read()).toContain('event: ready');
    // The first poll lists the unfinished runs it has not seen yet (none here), then each change.
    const engine = testEngine({ store, workflows: [approval], inbox: { pollMs: 10 } });
    engines.push(engine);
    const run = engine.start(approval, {}, { id: 'listed-1' });
    void run.result.catch(() => {});
    let text = '';
    while (!text.includes('listed-1')) text += await read();
    expect(text).toMatch(/event: changed\ndata: \[[^\]]*"listed-1"/);
    run.cancel();
    text = '';
    while (!text.includes('listed-1')) text += await read();
    await reader.cancel();
  });

  it('estimates the ETA from learned durations, else expectedMs, else the pace so far', () => {
    const timed = workflow('api-timed').step('a').step('b', { expectedMs: 500 }).build();
    const views = new RunViews(new Map([[timed.id, timed]]));
    const stored = (results: Record<string, unknown>, children = {}): StoredRun => ({
      id: 'r',
      workflow: 'api-timed',
      version: 'v',
      status: 'running',
      input: {},
      snapshot: JSON.stringify({ value: {}, context: { results }, children }),
      createdAt: 1_000,
      updatedAt: 1_000,
    });
    // Nothing learned, no pace yet: `a` has no estimate.
    expect(views.row(stored({}), stored({}), 1_100)).toMatchObject({ percent: 0, etaMs: null });
    // A whole stored run given as the record (a store's list may return them): its snapshot is read, not copied.
    expect(views.row(stored({}), stored({}), 1_100)).not.toHaveProperty('snapshot');
    views.learn([
      { workflow: 'api-timed', path: 'a', kind: 'duration', state: '{"ewma":200,"samples":3}', updatedAt: 0 },
      { workflow: 'api-timed', path: 'x', kind: 'duration', state: '{not json', updatedAt: 0 },
    ]);
    expect(views.row(stored({}), stored({}), 1_100).etaMs).toBe(700);
    // `a` has run 150 ms of its 200: 50 left, then b's 500.
    const running = {
      a: { snapshot: { phase: 'running', history: [], input: { path: 'a' }, startedAt: 1_000 } },
    };
    expect(views.row(stored({}, running), stored({}, running), 1_150).etaMs).toBe(550);
    expect(views.row(stored({ a: 1 }), stored({ a: 1 }), 1_300)).toMatchObject({ percent: 50, etaMs: 500 });
  });

  it('is read-only without a token, and serves the page for any other path', async () => {
    const readOnly = createServeApp({
      store,
      workflows: new Map(),
      registry: new Registry(),
      assets: new Map(),
    });
    expect((await readOnly.app.request('/api/runs/live-1/cancel', { method: 'POST' })).status).toBe(403);
    expect(await (await readOnly.app.request('/api/config')).json()).toEqual({ writable: false });
    readOnly.close();
    const page = await app.request('/runs/live-1');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toBe('<!doctype html>');
    // An API route that does not exist is a JSON 404, not the page.
    const missing = await app.request('/api/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no such route: GET /api/nope' });
  });
});
