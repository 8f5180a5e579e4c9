import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createServeApp } from '../../src/cli/serve/app.js';
import { serveRegistry } from '../../src/cli/serve/registry.js';
import { type Engine, sqliteStore, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'flowstate-metrics-'));
const engines: Engine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** Polls until `check` holds (5 s at most). */
async function eventually(check: () => boolean | Promise<boolean>) {
  for (const started = Date.now(); Date.now() - started < 5_000; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met in time');
}

/** One sample's value from Prometheus text, by metric name and labels as written (`{workflow="w"}`). */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const orders = workflow('metrics-orders')
  .step('fetch', { retry: { attempts: 3, initialMs: 1 } })
  .parallel('check', { a: (b) => b.step('a'), b: (b) => b.step('b') })
  .build();
const review = workflow('metrics-review')
  .step('review', { retry: { attempts: 1 }, escalate: { to: 'human', timeoutMs: 600_000 } })
  .build();
const boom = workflow('metrics-boom')
  .step('boom', { retry: { attempts: 1 } })
  .build();

describe('createEngine({ metrics }) and /metrics', () => {
  it('counts runs, step durations, retries, parked runs and escalations, store writes and takeovers; scraped over HTTP', async () => {
    const file = join(dir, 'runs.db');
    const registry = new Registry();
    let flaky = 0;
    const agents = {
      fetch: async () => {
        if (flaky++ % 3 < 2) throw new Error('flaky');
        return 1;
      },
      a: async () => {
        await new Promise((r) => setTimeout(r, 30));
        return 'a';
      },
      b: async () => 'b',
      review: async () => {
        throw new Error('needs a human');
      },
      boom: async () => {
        throw new Error('kaput');
      },
    };
    const engine = testEngine({
      agents,
      workflows: [orders, review, boom],
      store: sqliteStore(file),
      metrics: { registry },
      lease: { owner: 'first', ttlMs: 300 },
    });
    engines.push(engine);
    await engine.start(orders, {}).result;
    await engine.start(orders, {}).result;
    await expect(engine.start(boom, {}).result).rejects.toThrow();
    const waiting = engine.start(review, {}, { id: 'review-1' });
    void waiting.result.catch(() => {});
    await eventually(async () => (await engine.get('review-1'))?.status === 'waiting');

    // Scraped as Prometheus would: over HTTP, the engine's registry merged with the server's store gauges.
    const store = sqliteStore(file);
    const merged = Registry.merge([registry, serveRegistry(store)]);
    const { app, close } = createServeApp({
      store,
      workflows: new Map(),
      registry: merged,
      assets: new Map(),
    });
    const scrape = async () => {
      const response = await app.request('/metrics');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.text();
    };
    let text = await scrape();
    expect(sample(text, 'flowstate_runs_started_total', '{workflow="metrics-orders"}')).toBe(2);
    expect(sample(text, 'flowstate_runs_ended_total', '{workflow="metrics-orders",status="done"}')).toBe(2);
    expect(sample(text, 'flowstate_runs_ended_total', '{workflow="metrics-boom",status="failed"}')).toBe(1);
    // Each orders run: fetch failed twice, then passed.
    expect(sample(text, 'flowstate_step_retries_total', '{workflow="metrics-orders",step="fetch"}')).toBe(4);
    expect(
      sample(
        text,
        'flowstate_step_duration_seconds_count',
        '{workflow="metrics-orders",step="fetch",outcome="error"}',
      ),
    ).toBe(4);
    expect(
      sample(
        text,
        'flowstate_step_duration_seconds_count',
        '{workflow="metrics-orders",step="a",outcome="ok"}',
      ),
    ).toBe(2);
    // `a` takes 30 ms: both its observations are above the 25 ms bucket.
    expect(
      sample(
        text,
        'flowstate_step_duration_seconds_bucket',
        '{le="0.025",workflow="metrics-orders",step="a",outcome="ok"}',
      ),
    ).toBe(0);
    expect(sample(text, 'flowstate_runs_active', '{workflow="metrics-review"}')).toBe(1);
    expect(sample(text, 'flowstate_runs_parked', '{workflow="metrics-review"}')).toBe(1);
    expect(sample(text, 'flowstate_escalations_waiting', '{workflow="metrics-review"}')).toBe(1);
    expect(sample(text, 'flowstate_store_write_seconds_count', '{result="ok"}')).toBeGreaterThan(0);
    expect(sample(text, 'flowstate_store_runs', '{status="waiting"}')).toBe(1);
    expect(sample(text, 'flowstate_store_runs', '{status="done"}')).toBe(2);
    expect(sample(text, 'flowstate_lease_takeovers_total')).toBe(0);

    // The first engine closes: a second one takes its waiting run over (a takeover: the epoch moves past 1).
    const second = new Registry();
    const next = testEngine({
      agents,
      workflows: [orders, review, boom],
      store: sqliteStore(file),
      metrics: { registry: second },
      lease: { owner: 'second', ttlMs: 300 },
    });
    engines.push(next);
    await engine.close(); // hands its runs over (releases their leases)
    const taken = await next.recover();
    expect(taken.map((r) => r.id)).toEqual(['review-1']);
    text = await second.metrics();
    expect(sample(text, 'flowstate_lease_takeovers_total')).toBe(1);
    expect(sample(text, 'flowstate_escalations_waiting', '{workflow="metrics-review"}')).toBe(1);
    close();
    await store.close();
  });

  it('registers nothing and loads no prom-client metric without the option', async () => {
    const registry = new Registry();
    const engine = testEngine({ agents: { fetch: async () => 1, a: async () => 1, b: async () => 1 } });
    await engine.start(orders, {}).result;
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });
});
