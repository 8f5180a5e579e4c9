import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createMachine, type InspectionEvent } from 'xstate';
import { createEngine, createNodeInspector, toStatelyJSON, workflow } from '../../src/index.js';
import {
  combineInspection,
  DEFAULT_INSPECTOR_URL,
  inspectionObserver,
  inspectorFromFlag,
} from '../../src/observability/inspect.js';
import { buildPackage } from '../support/cli.js';
import { silent } from '../support/engine.js';
import { cleanupAfterEach, receiver, until } from '../support/inspector.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const definition = workflow('inspected').step('fetch').step('store').build();
const agents = { fetch: async () => ({ rows: 2 }), store: async () => 'ok' };

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const cleanups = cleanupAfterEach();

describe('createNodeInspector', () => {
  it("delivers a real run's inspection events to a receiver on 127.0.0.1, in Stately's format", async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const inspector = createNodeInspector({ url: target.url });
    cleanups.push(() => inspector.stop());
    const engine = createEngine({ agents, logger: silent, inspect: inspector });
    await expect(engine.start(definition, {}).result).resolves.toEqual({ fetch: { rows: 2 }, store: 'ok' });
    expect(await inspector.flush()).toBe(true);
    expect(await until(() => target.events.length >= inspector.stats.sent)).toBe(true);
    const root = target.events.find((e) => e.type === '@xstate.actor' && e.name === 'inspected');
    expect(root).toMatchObject({
      _version: expect.any(String),
      definition: expect.stringContaining('"id":"inspected"'),
    });
    const types = target.events.map((e) => (e.type === '@xstate.event' ? e.event.type : e.type));
    expect(types).toEqual(expect.arrayContaining(['xstate.done.actor.fetch', 'xstate.done.actor.store']));
    const last = target.events
      .filter((e) => e.type === '@xstate.snapshot' && e.sessionId === root?.sessionId)
      .at(-1);
    expect(last).toMatchObject({ snapshot: { status: 'done', value: '__done' } });
    expect(inspector.stats.dropped).toBe(0);
  });

  it("reaches a page through Stately's relay (createInspectorServer), as docs/inspector.md sets it up", async () => {
    const port = await freePort();
    const relay = createInspectorServer({ port, autoOpen: false });
    cleanups.push(() => relay.stop());
    // The page the relay serves frames the hosted inspector and listens on the same port.
    const html = await new Promise<string>((resolve, reject) =>
      get(`http://127.0.0.1:${port}/`, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      }).on('error', reject),
    );
    expect(html).toContain('https://stately.ai/inspect');
    const page = new WebSocket(`ws://127.0.0.1:${port}`);
    const seen: StatelyInspectionEvent[] = [];
    page.on('message', (data) => seen.push(JSON.parse(String(data))));
    await new Promise((resolve) => page.once('open', resolve));
    cleanups.push(() => page.close());
    const inspector = createNodeInspector({ url: `ws://127.0.0.1:${port}` });
    cleanups.push(() => inspector.stop());
    await createEngine({ agents, logger: silent, inspect: inspector }).start(definition, {}).result;
    await inspector.close();
    expect(await until(() => seen.some((e) => e.type === '@xstate.actor' && e.name === 'inspected'))).toBe(
      true,
    );
  });

  it('keeps events while it connects, and stops for good on stop()', async () => {
    const port = await freePort();
    const inspector = createNodeInspector({ url: `ws://127.0.0.1:${port}`, retryMs: 50 });
    await createEngine({ agents, logger: silent, inspect: inspector }).start(definition, {}).result;
    // Nothing listens yet: the events wait, and flush says they were not delivered.
    expect(await inspector.flush(100)).toBe(false);
    const late = new WebSocketServer({ host: '127.0.0.1', port });
    cleanups.push(() => new Promise((r) => late.close(r)));
    const events: unknown[] = [];
    late.on('connection', (s) => s.on('message', (m) => events.push(m)));
    expect(await inspector.flush(3_000)).toBe(true);
    expect(await until(() => events.length === inspector.stats.sent)).toBe(true);
    inspector.stop();
    expect(await inspector.flush(50)).toBe(true);
  });
});

describe('the engine takes any Stately inspector', () => {
  it('gets converted events from @statelyai/inspect createInspector with its own adapter', async () => {
    const events: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (e) => events.push(e) });
    await createEngine({ agents, logger: silent, inspect: inspector }).start(definition, {}).result;
    expect(
      await until(() => events.some((e) => e.type === '@xstate.snapshot' && e.snapshot.status === 'done')),
    ).toBe(true);
  });

  it('combines observers (progress lines and an inspector, say), and builds one from a CLI flag', async () => {
    const seen: string[] = [];
    const both = combineInspection((e) => seen.push(`a ${e.type}`), undefined, {
      inspect: { next: (e) => seen.push(`b ${e.type}`) },
    });
    both?.({ type: '@xstate.event' } as InspectionEvent);
    expect(seen).toEqual(['a @xstate.event', 'b @xstate.event']);
    expect(combineInspection(undefined)).toBeUndefined();
    expect(inspectorFromFlag(undefined)).toBeUndefined();
    expect(inspectorFromFlag(false)).toBeUndefined();
    const target = await receiver();
    cleanups.push(target.close);
    const inspector = inspectorFromFlag(target.url);
    cleanups.push(() => inspector?.stop());
    await createEngine({ agents, logger: silent, inspect: combineInspection(inspector) }).start(
      definition,
      {},
    ).result;
    await inspector?.close();
    expect(await until(() => target.events.length > 0)).toBe(true);
    const fallback = inspectorFromFlag(true);
    fallback?.stop();
    expect(DEFAULT_INSPECTOR_URL).toBe('ws://127.0.0.1:8080');
  });

  it('still takes a plain inspection function, and an observer object', () => {
    const fn = (_e: InspectionEvent) => {};
    expect(inspectionObserver(fn)).toBe(fn);
    const seen: string[] = [];
    inspectionObserver({ inspect: { next: (e) => seen.push(e.type) } })?.({
      type: '@xstate.event',
    } as InspectionEvent);
    expect(seen).toEqual(['@xstate.event']);
    expect(inspectionObserver(undefined)).toBeUndefined();
  });
});

describe('toStatelyJSON', () => {
  it("is the machine's config as plain JSON that XState (and Stately's tools) read back", () => {
    const review = workflow('review')
      .step('scan')
      .branch('triage', [
        { when: 'results.scan.critical', then: (b) => b.step('fix') },
        { otherwise: (b) => b },
      ])
      .build();
    const json = toStatelyJSON(review);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json).toMatchObject({
      id: 'review',
      initial: 'scan',
      states: {
        scan: { invoke: [{ id: 'scan', src: 'flowstate.step' }], meta: { flowstate: { kind: 'step' } } },
        triage: { states: { __decide: { always: [{ guard: 'results.scan.critical' }, {}] } } },
        __done: { type: 'final' },
      },
    });
    const reloaded = createMachine(json as never);
    expect(Object.keys(reloaded.root.states)).toEqual(Object.keys(review.machine.root.states));
  });
});

describe('a process with the inspector on', () => {
  let index = '';
  beforeAll(() => {
    // The child runs the package as built, from a private build (no race with dist/ or other test files).
    const out = join(root, 'node_modules/.cache/flowstate-inspector-test');
    // Built as shipped: tsc, then the bundle the package's exports point at.
    index = join(buildPackage(out), 'index.js');
    expect(index).not.toBe('');
  }, 120_000);

  const script = (body: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-inspector-'));
    const file = join(dir, 'run.mjs');
    writeFileSync(
      file,
      `import * as flowstate from ${JSON.stringify(pathToFileURL(index).href)};\nconst { createEngine, createNodeInspector, workflow } = flowstate;\n${body}`,
    );
    return file;
  };

  const run = (file: string, args: string[], timeout = 10_000) =>
    new Promise<{ code: number | null; stdout: string; ms: number }>((resolve) => {
      const started = Date.now();
      execFile(
        process.execPath,
        [file, ...args],
        { timeout, env: { ...process.env, FLOWSTATE_LOG_LEVEL: 'silent' } },
        (error, stdout) =>
          resolve({
            code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
            stdout,
            ms: Date.now() - started,
          }),
      );
    });

  const workflowScript = `
const [url, close] = process.argv.slice(2);
const inspector = createNodeInspector({ url, retryMs: 100 });
const wf = workflow('child').step('a').step('b').build();
const engine = createEngine({ agents: { a: async () => 1, b: async () => 2 }, inspect: inspector });
const output = await engine.start(wf, {}).result;
if (close === 'close') await inspector.close();
console.log(JSON.stringify({ output, stats: inspector.stats }));
`;

  it('exits when the run ends, with nothing listening (the connection keeps failing)', async () => {
    const ran = await run(script(workflowScript), [`ws://127.0.0.1:${await freePort()}`]);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).output).toEqual({ a: 1, b: 2 });
    expect(ran.ms).toBeLessThan(5_000);
  });

  it('exits when the run ends with a receiver connected, and close() delivers every event first', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const ran = await run(script(workflowScript), [target.url, 'close']);
    expect(ran.code).toBe(0);
    const { stats } = JSON.parse(ran.stdout) as { stats: { sent: number; dropped: number } };
    expect(stats.sent).toBeGreaterThan(5);
    expect(await until(() => target.events.length === stats.sent)).toBe(true);
    expect(target.events.some((e) => e.type === '@xstate.actor' && e.name === 'child')).toBe(true);
  });

  it('exits when the run ends with a receiver connected, even without close()', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const ran = await run(script(workflowScript), [target.url]);
    expect(ran.code).toBe(0);
    expect(ran.ms).toBeLessThan(5_000);
  });

  it('runs the program of docs/inspector.md as written, through the relay of its step 1, to a page', async () => {
    const doc = readFileSync(new URL('../../docs/inspector.md', import.meta.url), 'utf8');
    const program = /^```ts\n(import \{ createEngine[\s\S]*?)^```$/m.exec(doc)?.[1];
    expect(program).toBeDefined();
    const port = await freePort();
    const relay = createInspectorServer({ port, autoOpen: false });
    cleanups.push(() => relay.stop());
    const page = new WebSocket(`ws://127.0.0.1:${port}`);
    const seen: StatelyInspectionEvent[] = [];
    page.on('message', (data) => seen.push(JSON.parse(String(data))));
    await new Promise((resolve) => page.once('open', resolve));
    cleanups.push(() => page.close());
    const file = join(mkdtempSync(join(tmpdir(), 'flowstate-inspector-')), 'inspect.mjs');
    const local = (program ?? '')
      .replace("from 'flowstate'", `from ${JSON.stringify(pathToFileURL(index).href)}`)
      .replace('ws://127.0.0.1:8080', `ws://127.0.0.1:${port}`);
    writeFileSync(file, local);
    const ran = await run(file, []);
    expect(ran.code).toBe(0);
    expect(ran.stdout.trim()).toBe(`{ fetch: { rows: 3 }, summarize: '3 rows' }`);
    expect(await until(() => seen.some((e) => e.type === '@xstate.actor' && e.name === 'inspected'))).toBe(
      true,
    );
  });

  it("(why: Stately's createWebSocketInspector keeps a process alive after a failed connection, even stopped)", async () => {
    // In the repository's cache directory, so that the script resolves @statelyai/inspect.
    const file = join(root, 'node_modules/.cache/flowstate-inspector-test/stately-alive.mjs');
    writeFileSync(
      file,
      `import { createWebSocketInspector } from '@statelyai/inspect';
const inspector = createWebSocketInspector({ url: process.argv[2] });
setTimeout(() => inspector.stop(), 100);
`,
    );
    const ran = await run(file, [`ws://127.0.0.1:${await freePort()}`], 2_500);
    expect(ran.code).toBeNull(); // killed by the timeout: it was still running
  });
});
