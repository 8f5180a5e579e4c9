/**
 * The web view's HTTP app (Hono): the JSON API under `/api/runs`, its SSE streams, the signal endpoints (behind the
 * token), `/metrics`, and the bundled page. Everything is read from the store, so it shows runs of any process.
 */
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Registry } from 'prom-client';
import { handwrittenMachineOf } from '../../dsl/handwritten.js';
import type { AnyWorkflowDefinition } from '../../model/definition.js';
import { FlowstateError, SignalTimeoutError } from '../../model/errors.js';
import type { RunFilter, RunStatus, WorkflowStore } from '../../persistence/types.js';
import { UNFINISHED } from '../../persistence/types.js';
import { earlierSignal, keyedSignalId, postSignal, type SignalBody } from '../../runtime/inbox.js';
import { type Assets, serveAsset } from './assets.js';
import { RunFeed } from './feed.js';
import { RunViews } from './run-view.js';
import { refusalOf } from './signal-check.js';

/** Options of {@link createServeApp}. */
export interface ServeAppOptions {
  readonly store: WorkflowStore;
  /** Definitions by id: their machines draw the chart and give percent and ETA. */
  readonly workflows: ReadonlyMap<string, AnyWorkflowDefinition>;
  /** Writes (signals) need `Authorization: Bearer <token>`; without a token the view is read-only. */
  readonly token?: string;
  /** What `/metrics` exposes. */
  readonly registry: Registry;
  /** Where the page's files are (the bundle's `web/`). */
  readonly assets: Assets;
  /** How often the live streams read the store. @default 50 */
  readonly pollMs?: number;
  /** How long a signal waits for the run's owner before it is reported queued. @default 10_000 */
  readonly signalTimeoutMs?: number;
}

const STATUSES: readonly RunStatus[] = ['running', 'waiting', 'done', 'failed', 'cancelled', 'compensated'];
const PAGE_MAX = 200;

/**
 * The app. `close()` stops its store pollers (the store stays the caller's).
 *
 * @example
 * ```ts
 * const { app, close } = createServeApp({ store, workflows, registry, assets: findAssets() });
 * serve({ fetch: app.fetch, port: 4477 });
 * ```
 */
export function createServeApp(options: ServeAppOptions): { app: Hono; close: () => void } {
  const { store, registry } = options;
  const views = new RunViews(options.workflows);
  const feed = new RunFeed(store, views, options.pollMs ?? 50);
  // What the engines learned of step durations feeds the ETA: read at start and every 10 s.
  const learn = () =>
    void store.loadHistory?.().then(
      (rows) => views.learn(rows),
      () => {},
    );
  learn();
  const learning = setInterval(learn, 10_000);
  learning.unref();
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof HttpError)
      return c.json({ ...(error.code ? { code: error.code } : {}), error: error.message }, error.status);
    return c.json({ error: 'internal error' }, 500);
  });

  app.get('/api/runs', async (c) => {
    const filter = listFilter(c.req.query());
    const now = Date.now();
    const [records, total] = await Promise.all([
      store.listRuns({ ...filter, limit: filter.limit + 1 }),
      store.countRuns ? store.countRuns(filter) : Promise.resolve(undefined),
    ]);
    const page = records.slice(0, filter.limit);
    // Percent and ETA need the snapshot: read only for the unfinished runs of this page.
    const rows = await Promise.all(
      page.map(async (r) =>
        views.row(r, UNFINISHED.includes(r.status) ? await store.getRun(r.id) : undefined, now),
      ),
    );
    return c.json({
      runs: rows,
      total: total ?? null,
      offset: filter.offset,
      limit: filter.limit,
      more: records.length > filter.limit,
    });
  });

  app.get('/api/runs/events', (c) =>
    streamSSE(c, async (stream) => {
      const stop = feed.onList(
        (ids) => void stream.writeSSE({ event: 'changed', data: JSON.stringify(ids) }),
      );
      stream.onAbort(stop);
      await stream.writeSSE({ event: 'ready', data: '{}' });
      await untilAborted(stream);
      stop();
    }),
  );

  app.get('/api/runs/:id', async (c) => {
    const detail = await feed.detail(c.req.param('id'));
    if (!detail) throw new HttpError(404, `no run ${c.req.param('id')}`);
    return c.json(detail);
  });

  app.get('/api/runs/:id/events', (c) =>
    streamSSE(c, async (stream) => {
      const id = c.req.param('id');
      const stop = feed.onRun(
        id,
        (detail) => void stream.writeSSE({ event: 'run', data: JSON.stringify(detail) }),
      );
      stream.onAbort(stop);
      await untilAborted(stream);
      stop();
    }),
  );

  const signal = (
    kind: 'decision' | 'event' | 'cancel',
    read: (body: Record<string, unknown>) => SignalBody,
  ) =>
    app.post(
      `/api/runs/:id/${kind === 'decision' ? 'decide' : kind === 'event' ? 'send' : 'cancel'}`,
      async (c) => {
        authorize(options.token, c.req.header('authorization'));
        const id = c.req.param('id');
        const body = jsonObject(await c.req.text());
        const signalBody = read(body);
        const timeoutMs = options.signalTimeoutMs ?? 10_000;
        // `Idempotency-Key`: a request sent again (its answer lost, or 202) is applied once, answered alike.
        const key = c.req.header('idempotency-key');
        const keyed = key === undefined || key === '' ? undefined : keyedSignalId(id, key);
        try {
          const earlier =
            keyed &&
            (await earlierSignal(
              store,
              {
                id: keyed,
                runId: id,
                kind,
                body: JSON.stringify(signalBody),
                state: 'pending',
                createdAt: Date.now(),
              },
              timeoutMs,
            ));
          if (earlier) return c.json({ applied: true, result: (await earlier.answer) ?? null });
          const run = await store.getRun(id);
          if (!run) throw new HttpError(404, `no run ${id}`);
          if (!UNFINISHED.includes(run.status))
            throw new HttpError(409, `run ${id} already ended (${run.status})`, 'CONFIGURATION_INVALID');
          // No live owner: the signal would wait in the inbox; one the run would refuse is refused now.
          if (!run.owner || (run.leaseUntil ?? 0) <= Date.now()) {
            const detail = await feed.detail(id);
            const definition = options.workflows.get(run.workflow);
            const compiled = definition !== undefined && !handwrittenMachineOf(definition);
            const refused = detail && refusalOf(kind, signalBody, detail, compiled);
            if (refused)
              return c.json({ applied: false, code: 'CONFIGURATION_INVALID', error: refused }, 409);
          }
          const result = await postSignal(store, id, kind, signalBody, timeoutMs, keyed);
          feed.poke(id);
          return c.json({ applied: true, result: result ?? null });
        } catch (error) {
          if (error instanceof SignalTimeoutError)
            return c.json(
              { applied: false, queued: true, message: 'no live engine applied it yet: it stays queued' },
              202,
            );
          if (error instanceof FlowstateError)
            return c.json({ applied: false, code: error.code, error: error.message }, 409);
          throw error;
        }
      },
    );
  signal('decision', (b) => ({ stepPath: str(b.stepPath, 'stepPath'), decision: decisionOf(b) }));
  signal('event', (b) => {
    const event = b.event as { type?: unknown } | undefined;
    if (!event || typeof event !== 'object' || typeof event.type !== 'string' || event.type === '')
      throw new HttpError(400, 'event needs a string type');
    return { event: event as { type: string } };
  });
  signal('cancel', (b) => (typeof b.reason === 'string' && b.reason !== '' ? { reason: b.reason } : {}));

  app.get('/metrics', async (c) =>
    c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );
  app.get('/api/config', (c) => c.json({ writable: options.token !== undefined }));
  // An API route that does not exist is a JSON 404, not the page (found by a new user: a typo answered 200 with HTML).
  app.all('/api/*', (c) => c.json({ error: `no such route: ${c.req.method} ${c.req.path}` }, 404));
  app.get('*', (c) => serveAsset(options.assets, c.req.path));
  return {
    app,
    close: () => {
      clearInterval(learning);
      feed.close();
    },
  };
}

/** An error with its HTTP status, answered as `{ error }`. */
/** A request's body: a JSON object, or none (`{}`); anything else is a 400 that says so. */
function jsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON: send a JSON object (content-type: application/json)');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'the body is a JSON object');
  return body as Record<string, unknown>;
}

class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409,
    message: string,
    /** The engine's error code it stands for, when it stands for one (a 409 says why, as the engine would). */
    readonly code?: string,
  ) {
    super(message);
  }
}

function authorize(token: string | undefined, header: string | undefined) {
  if (token === undefined)
    throw new HttpError(403, 'read-only: start flowstate serve with a token to allow writes');
  if (header === undefined || !/^Bearer\s+\S/i.test(header))
    throw new HttpError(401, 'a write needs Authorization: Bearer <token>');
  const given = Buffer.from(header.replace(/^Bearer\s+/i, ''));
  const wanted = Buffer.from(token);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
    throw new HttpError(
      401,
      'wrong token: use the one flowstate serve printed at start (or gave with --token)',
    );
}

function listFilter(q: Record<string, string>): RunFilter & { limit: number; offset: number } {
  const count = (name: 'limit' | 'offset', fallback: number, least: number) => {
    const text = q[name];
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < least)
      throw new HttpError(400, `${name} is an integer of at least ${least}, got '${text.slice(0, 20)}'`);
    return value;
  };
  const limit = Math.min(PAGE_MAX, count('limit', 50, 1));
  const offset = count('offset', 0, 0);
  const statuses = (q.status ?? '').split(',').filter((s) => s !== '');
  for (const s of statuses)
    if (!STATUSES.includes(s as RunStatus)) throw new HttpError(400, `unknown status '${s}'`);
  return {
    limit,
    offset,
    order: q.order === 'oldest' ? 'oldest' : 'newest',
    ...(statuses.length ? { status: statuses as RunStatus[] } : {}),
    ...(q.workflow ? { workflow: q.workflow } : {}),
  };
}

function str(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `${name} is required`);
  return value;
}

function decisionOf(b: Record<string, unknown>) {
  const action = b.action;
  if (action === 'retry') return { action } as const;
  if (action === 'abort')
    return typeof b.reason === 'string' ? ({ action, reason: b.reason } as const) : ({ action } as const);
  if (action === 'skip') return 'value' in b ? ({ action, value: b.value } as const) : ({ action } as const);
  throw new HttpError(400, 'action is retry, skip or abort');
}

/** Holds an SSE stream open (with a comment every 15 s, so proxies keep it) until the client goes away. */
async function untilAborted(stream: {
  aborted: boolean;
  closed: boolean;
  write(s: string): Promise<unknown>;
  sleep(ms: number): Promise<unknown>;
}) {
  while (!stream.aborted && !stream.closed) {
    await stream.sleep(15_000);
    if (!stream.aborted) await stream.write(': keep-alive\n\n');
  }
}
