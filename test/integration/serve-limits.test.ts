// Bounds on what a write to `flowstate serve`'s API may send. Found by an adversarial trial: a 200 MB body (with the
// token) took the server to 1.9 GB; an event nested 5,000 levels deep was answered `500 internal error` (stored and
// compared by recursive code that overflowed). Now a body over `maxBodyBytes` (1 MiB by default, `--max-body`) is a
// `413` before it is read whole, one nested deeper than 64 levels a `400` before anything is parsed or stored.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { runServeCommand } from '../../src/cli/commands/serve.js';
import { createServeApp } from '../../src/cli/serve/app.js';
import { depthOver } from '../../src/cli/serve/body.js';
import { type AnyWorkflowDefinition, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { keyedSignalId } from '../../src/runtime/inbox.js';

const approval = workflow('limits-approval')
  .waitFor('approval', { event: 'approved', timeoutMs: 600_000 })
  .build();
const store = memoryStore();
const waiting: StoredRun = {
  id: 'wait-1',
  workflow: approval.id,
  version: approval.version,
  status: 'waiting',
  input: {},
  snapshot: '',
  createdAt: 1_000,
  updatedAt: 1_000,
};
// A run its owner holds (a lease far ahead): a signal to it would go to the inbox.
await store.write({
  claims: [{ run: waiting, owner: 'far-away', leaseUntil: Date.now() + 3_600_000 }],
  runs: [],
  journal: [],
});
const served = (options: { maxBodyBytes?: number; store?: WorkflowStore } = {}) =>
  createServeApp({
    store: options.store ?? store,
    workflows: new Map<string, AnyWorkflowDefinition>([[approval.id, approval]]),
    registry: new Registry(),
    assets: new Map(),
    token: 't',
    pollMs: 10,
    signalTimeoutMs: 200,
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });
const api = served();
const small = served({ maxBodyBytes: 1_024 });
afterAll(() => {
  api.close();
  small.close();
});

const answer = async (response: Response) => ({
  status: response.status,
  body: (await response.json()) as Record<string, unknown>,
});
const post = async (
  path: string,
  body: string | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
  app = api.app,
) =>
  answer(
    await app.request(path, {
      method: 'POST',
      headers: { authorization: 'Bearer t', ...headers },
      body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit),
  );
/** `depth` objects one in another, as JSON text. */
const nested = (depth: number) => `${'{"d":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
/** A body streamed in 64 KB chunks, without a content-length. */
const streamed = (bytes: number) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const chunk = new TextEncoder().encode('z'.repeat(64 * 1024));
      for (let sent = 0; sent < bytes; sent += chunk.length) controller.enqueue(chunk);
      controller.close();
    },
  });

describe('the body of a write to the API', () => {
  it('is refused with a 413 and a JSON error over 1 MiB (by its content-length, or as it is read)', async () => {
    const over = JSON.stringify({ event: { type: 'approved', s: 'z'.repeat(1024 * 1024) } });
    const refused = {
      status: 413,
      body: { error: 'the body is larger than 1048576 bytes (flowstate serve --max-body sets the limit)' },
    };
    expect(
      await post('/api/runs/wait-1/send', over, { 'content-length': String(Buffer.byteLength(over)) }),
    ).toEqual(refused);
    expect(await post('/api/runs/wait-1/send', streamed(3 * 1024 * 1024))).toEqual(refused);
    // Under the limit, the write goes on (here: queued for the run's owner, who does not answer in time).
    const under = JSON.stringify({ event: { type: 'approved', s: 'z'.repeat(900 * 1024) } });
    expect(await post('/api/runs/wait-1/send', under)).toMatchObject({ status: 202 });
  });

  it('is refused over the limit the server was given', async () => {
    const body = JSON.stringify({ reason: 'r'.repeat(2_000) });
    expect(await post('/api/runs/wait-1/cancel', body, {}, small.app)).toMatchObject({
      status: 413,
      body: { error: expect.stringContaining('larger than 1024 bytes') },
    });
  });

  it('is refused over the limit through a real HTTP server too: a 413 answered, the rest of the body dropped', async () => {
    const server = serve({ fetch: api.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/runs/wait-1/send`, {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
        body: JSON.stringify({ event: { type: 'approved', s: 'z'.repeat(20 * 1024 * 1024) } }),
      });
      expect(await answer(response)).toMatchObject({ status: 413 });
      const chunked = await fetch(`http://127.0.0.1:${port}/api/runs/wait-1/send`, {
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: streamed(20 * 1024 * 1024),
        duplex: 'half',
      } as RequestInit);
      expect(await answer(chunked)).toMatchObject({ status: 413 });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('nested deeper than 64 levels is a 400 that says so, and nothing is stored', async () => {
    const deep = `{"event":{"type":"approved","x":${nested(5_000)}}}`;
    for (const [path, body] of [
      ['/api/runs/wait-1/send', deep],
      ['/api/runs/wait-1/decide', `{"stepPath":"approval","action":"skip","value":${nested(200)}}`],
      ['/api/runs/wait-1/cancel', `{"reason":${nested(65)}}`],
    ] as const)
      expect(await post(path, body, { 'idempotency-key': 'deep' })).toEqual({
        status: 400,
        body: { error: 'the body nests objects and arrays deeper than 64 levels' },
      });
    expect(await store.getMessage(keyedSignalId('wait-1', 'deep'))).toBeUndefined();
    // 64 levels in all are taken (the event itself is the second).
    const deepest = `{"event":{"type":"nothing","x":${nested(62)}}}`;
    expect(depthOver(deepest, 64)).toBe(false);
    expect(await post('/api/runs/wait-1/send', deepest)).toMatchObject({ status: 202 });
    // Brackets inside strings are not nesting.
    expect(depthOver(JSON.stringify({ s: '{['.repeat(1_000), t: '\\"{' }), 2)).toBe(false);
  });

  it('a store error is a 500 that says "internal error" only, never its message or stack', async () => {
    const broken: WorkflowStore = {
      ...memoryStore(),
      getRun: async () => {
        throw new Error('connection refused at db.internal:5432 (password=hunter2)');
      },
    };
    const app = served({ store: broken });
    try {
      for (const response of [
        await app.app.request('/api/runs/x'),
        await app.app.request('/api/runs/x/cancel', {
          method: 'POST',
          headers: { authorization: 'Bearer t' },
        }),
      ]) {
        expect(response.status).toBe(500);
        expect(await response.text()).toBe('{"error":"internal error"}');
      }
    } finally {
      app.close();
    }
  });
});

describe('flowstate serve --max-body', () => {
  const cli = async (...args: string[]) => {
    const err: string[] = [];
    const code = await runServeCommand(args, { out: () => {}, err: (l: string) => void err.push(l) });
    return { code, stderr: err.join('\n') };
  };

  it('takes bytes, kb or mb, and says what is wrong with anything else (exit 2)', async () => {
    for (const bad of ['lots', '0', '1.5mb', '-1', '10gb'])
      expect(await cli('--store', 'sqlite:/nonexistent/x.db', '--max-body', bad)).toEqual({
        code: 2,
        stderr: `flowstate: --max-body takes a size (bytes, or with kb or mb: 4mb), got '${bad}'. Run 'flowstate --help' for usage.`,
      });
    // A good size passes the options: what fails next is the store.
    for (const good of ['512', '64kb', '4MB', '2m'])
      expect((await cli('--store', 'sqlite:/nonexistent/x.db', '--max-body', good)).stderr).toContain(
        'no store at',
      );
  });
});
