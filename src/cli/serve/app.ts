/**
 * The web view's HTTP app (Hono): the JSON API under `/api/runs`, its SSE streams, the signal endpoints (behind the
 * token), `/metrics`, and the bundled page. Everything is read from the store, so it shows runs of any process.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Registry } from 'prom-client';
import type { AnyWorkflowDefinition } from '../../model/definition.js';
import type { RunFilter, RunHead, RunStatus, WorkflowStore } from '../../persistence/types.js';
import { UNFINISHED } from '../../persistence/types.js';
import { type Assets, serveAsset } from './assets.js';
import { DEFAULT_MAX_BODY } from './body.js';
import { RunFeed } from './feed.js';
import { HttpError } from './http-error.js';
import { RunViews } from './run-view.js';
import { signalRoutes } from './signals.js';

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
  /** The largest body a write takes, in bytes: a larger one is answered `413`. @default 1 MiB */
  readonly maxBodyBytes?: number;
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
    const query = c.req.query();
    const now = Date.now();
    // Percent and ETA need the snapshot: read only for the unfinished runs of this page (heads carry no payload).
    const rowsOf = (heads: readonly RunHead[]) =>
      Promise.all(
        heads.map(async (r) =>
          views.row(r, UNFINISHED.includes(r.status) ? await store.getRun(r.id) : undefined, now),
        ),
      );
    const named = c.req.queries('id');
    if (named !== undefined) {
      // `?id=a&id=b`: the rows of these runs (those stored), what the list page reads again of the runs that moved.
      const ids = [...new Set(named.filter((id) => id !== ''))];
      if (ids.length > PAGE_MAX) throw new HttpError(400, `id names at most ${PAGE_MAX} runs`);
      const heads = await feed.heads({ ids, limit: PAGE_MAX, order: 'newest' });
      return c.json({ runs: await rowsOf(heads), total: null, offset: 0, limit: PAGE_MAX, more: false });
    }
    const filter = listFilter(query);
    const [heads, total] = await Promise.all([
      feed.heads({ ...filter, limit: filter.limit + 1 }),
      store.countRuns ? store.countRuns(filter) : Promise.resolve(undefined),
    ]);
    return c.json({
      runs: await rowsOf(heads.slice(0, filter.limit)),
      total: total ?? null,
      offset: filter.offset,
      limit: filter.limit,
      more: heads.length > filter.limit,
    });
  });

  app.get('/api/runs/events', (c) =>
    streamSSE(c, async (stream) => {
      const stop = feed.onList((change) => {
        void stream.writeSSE({ event: 'changed', data: JSON.stringify(change.ids) });
        void stream.writeSSE({ event: 'runs', data: JSON.stringify(change.rows) });
      });
      stream.onAbort(stop);
      // Ready once the poller knows the runs as they are: a page read after this misses no change.
      await feed.listPrimed();
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
      const stop = feed.onRun(id, (_detail, json) => void stream.writeSSE({ event: 'run', data: json }));
      stream.onAbort(stop);
      await untilAborted(stream);
      stop();
    }),
  );

  signalRoutes(app, {
    store,
    workflows: options.workflows,
    feed,
    token: options.token,
    timeoutMs: options.signalTimeoutMs ?? 10_000,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY,
  });

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
