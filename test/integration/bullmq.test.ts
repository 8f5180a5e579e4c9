// Agent steps on BullMQ workers (issue 14), end to end: a real redis-server, a SQLite store, `flowstate worker`
// processes running the agents of test/support/bullmq-agents.mjs, and the engine in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BullmqTransport, bullmqTransport, createWorker } from '../../src/bullmq/index.js';
import { createEngine, type Engine, sqliteStore, workflow } from '../../src/index.js';
import { type AgentWorker, ledgerUntil, readLedger, spawnAgentWorker } from '../support/bullmq.js';
import { silent } from '../support/engine.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.mjs';

const QUEUE = 'agents';
let redis: RedisServer;
let dir: string;
let ledger: string;
let worker: AgentWorker;
const open: Array<{ engine: Engine; transport: BullmqTransport }> = [];

beforeAll(async () => {
  redis = await startRedisServer();
  dir = mkdtempSync(join(tmpdir(), 'flowstate-bullmq-'));
  ledger = join(dir, 'ledger.jsonl');
  worker = spawnAgentWorker({ url: redis.url, queue: QUEUE, ledger, concurrency: 8, lockMs: 1_000 });
  await worker.ready;
}, 60_000);

afterEach(async () => {
  for (const { engine, transport } of open.splice(0)) {
    await engine.close();
    await transport.close();
  }
});

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Steps on the worker: two I/O agents in a row, the second fed by the first. */
const pipeline = workflow('remote')
  .step('first', { agent: 'io', input: (c) => ({ n: (c.input as { n: number }).n, ms: 30 }) })
  .step('second', { agent: 'io2', input: (c) => ({ n: (c.results.first as { n: number }).n + 1, ms: 30 }) })
  .build();
const retrying = workflow('retrying')
  .step('a', { agent: 'flaky', retry: { attempts: 3, initialMs: 20, jitter: 0, retryOn: ['EFLAKY'] } })
  .build();
const hanging = workflow('hanging').step('h', { agent: 'hang' }).build();
const timing = workflow('timing').step('h', { agent: 'hang', timeoutMs: 300 }).build();
const slow = workflow('slow')
  .step('s', { agent: 'io', input: (c) => c.input })
  .build();

function engineOn(name: string, options: { checkEveryMs?: number } = {}) {
  const transport = bullmqTransport({
    connection: redis.url,
    logger: silent,
    checkEveryMs: options.checkEveryMs ?? 300,
  });
  const engine = createEngine({
    store: sqliteStore(join(dir, `${name}.db`)),
    transport,
    defaultQueue: QUEUE,
    logger: silent,
    workflows: [pipeline, retrying, hanging, timing, slow],
  });
  open.push({ engine, transport });
  return { engine, transport };
}

const calls = (key: string) => readLedger(ledger).filter((e) => e.event === 'call' && e.key === key).length;

describe('agent steps on BullMQ workers', () => {
  it('runs a workflow whose steps run on a worker in another process, journaling each output', async () => {
    const { engine, transport } = engineOn('basic');
    expect(await transport.ready()).toEqual([]); // noeviction and AOF: no warning
    const out = (await engine.start(pipeline, { n: 41 }, { id: 'basic-1' }).result) as Record<
      string,
      { n: number; pid: number }
    >;
    expect(out.first?.n).toBe(41);
    expect(out.second?.n).toBe(42);
    expect(out.second?.pid).toBe(worker.pid);
    expect(out.second?.pid).not.toBe(process.pid);
    const store = sqliteStore(join(dir, 'basic.db'));
    const entry = await store.getJournal('basic-1:second:1');
    const output = typeof entry?.output === 'string' ? JSON.parse(entry.output) : entry?.output;
    expect(output).toMatchObject({ n: 42, pid: worker.pid });
    await store.close?.();
    expect(calls('basic-1:first:1')).toBe(1);
  });

  it('keeps retries in the engine: one job per attempt; a non-retryable error fails at once', async () => {
    const { engine } = engineOn('retry');
    await expect(engine.start(retrying, { okAt: 3 }, { id: 'retry-1' }).result).resolves.toEqual({
      a: { attempt: 3 },
    });
    expect([1, 2, 3].map((n) => calls(`retry-1:a:${n}`))).toEqual([1, 1, 1]);
    const fatal = engine.start(retrying, { fatal: true }, { id: 'retry-2' });
    await expect(fatal.result).rejects.toMatchObject({ code: 'STEP_FAILED', attempts: 1 });
    expect((await engine.get('retry-2'))?.error?.cause).toMatchObject({ code: 'EFATAL', message: 'fatal' });
  });

  it("aborts the worker agent's signal on cancel and on the attempt's timeout", async () => {
    const { engine } = engineOn('cancel');
    const run = engine.start(hanging, {}, { id: 'cancel-1' });
    await ledgerUntil(ledger, () => calls('cancel-1:h:1') === 1);
    await engine.cancel('cancel-1', 'changed my mind');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    const aborted = await ledgerUntil(ledger, (l) =>
      l.some((e) => e.event === 'abort' && e.key === 'cancel-1:h:1'),
    );
    expect(aborted.find((e) => e.event === 'abort' && e.key === 'cancel-1:h:1')?.code).toBe('CANCELLED');

    const timed = engine.start(timing, {}, { id: 'timeout-1' });
    await expect(timed.result).rejects.toMatchObject({ code: 'STEP_FAILED' });
    const lines = await ledgerUntil(ledger, (l) =>
      l.some((e) => e.event === 'abort' && e.key === 'timeout-1:h:1'),
    );
    expect(lines.find((e) => e.event === 'abort' && e.key === 'timeout-1:h:1')?.code).toBe('STEP_TIMEOUT');
  });

  it('never duplicates a job: a re-dispatch of an attempt attaches to its job, running or finished', async () => {
    const a = engineOn('dedup-a').transport;
    const b = engineOn('dedup-b').transport;
    const job = {
      queue: QUEUE,
      agent: 'io',
      input: { n: 7, ms: 300 },
      runId: 'dedup-1',
      stepPath: 's',
      attempt: 1,
      idempotencyKey: 'dedup-1:s:1',
    };
    // Two owners at once (a takeover while the first still waits), then a third after it finished.
    const [first, second] = await Promise.all([
      a.call(job, new AbortController().signal),
      b.call(job, new AbortController().signal),
    ]);
    const third = await b.call(job, new AbortController().signal);
    expect([first, second, third].map((o) => (o as { n: number }).n)).toEqual([7, 7, 7]);
    expect(calls('dedup-1:s:1')).toBe(1);
    expect(b.stats.reattached).toBeGreaterThanOrEqual(1);
  });

  it('re-enqueues the jobs Redis lost (FLUSHALL mid-run) and completes', async () => {
    const { engine, transport } = engineOn('flush');
    const run = engine.start(slow, { n: 1, ms: 1_500 }, { id: 'flush-1' });
    await ledgerUntil(ledger, () => calls('flush-1:s:1') === 1);
    await redis.command('FLUSHALL');
    await expect(run.result).resolves.toMatchObject({ s: { n: 1 } });
    expect(transport.stats.requeued).toBeGreaterThanOrEqual(1);
    expect(calls('flush-1:s:1')).toBe(2); // the lost attempt ran again, with the same key
  }, 30_000);

  it("applies a queue's rate limit (BullMQ's limiter) to a worker made with createWorker", async () => {
    const starts: number[] = [];
    const limited = createWorker({
      connection: redis.url,
      queue: 'limited',
      agents: { tick: async (_input, ctx) => starts.push(Date.now()) && ctx.attempt },
      concurrency: 8,
      limiter: { max: 2, duration: 500 },
      logger: silent,
    });
    await limited.ready();
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    try {
      const jobs = [0, 1, 2, 3, 4, 5].map((i) =>
        transport.call(
          {
            queue: 'limited',
            agent: 'tick',
            input: null,
            runId: `limit-${i}`,
            stepPath: 't',
            attempt: 1,
            idempotencyKey: `limit-${i}:t:1`,
          },
          new AbortController().signal,
        ),
      );
      await Promise.all(jobs);
      // Six jobs at two per 500 ms: the last starts at least a second after the first.
      expect(starts).toHaveLength(6);
      expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(900);
    } finally {
      await transport.close();
      await limited.close();
    }
  });

  it("runs a template's default agents on a worker (--agents template:<id>)", async () => {
    const { template } = await import('../../machines/schema-analysis.js');
    const templateWorker = spawnAgentWorker({
      url: redis.url,
      queue: 'templates',
      ledger,
      agents: 'template:schema-analysis',
    });
    await templateWorker.ready;
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const engine = createEngine({ transport, defaultQueue: 'templates', logger: silent });
    open.push({ engine, transport });
    const report = await engine.start(template.definition, template.exampleInput).result;
    expect(report).toEqual(expect.any(Object));
    templateWorker.child.kill('SIGTERM');
    expect(await templateWorker.exited).toBe(0);
  }, 90_000);

  it('warns at start about a Redis that may evict or lose jobs', async () => {
    const loose = await startRedisServer({ persistent: false });
    try {
      await loose.command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      const transport = bullmqTransport({ connection: loose.url, logger: silent });
      const warnings = await transport.ready();
      await transport.close();
      expect(warnings).toEqual([
        expect.stringContaining("maxmemory-policy is 'allkeys-lru'"),
        expect.stringContaining('Redis has no persistence'),
      ]);
    } finally {
      await loose.stop();
    }
  });

  it('recovers from a Redis SIGKILL and restart: the engine and the worker go on', async () => {
    const { engine } = engineOn('restart');
    const runs = [0, 1, 2, 3, 4].map((i) => engine.start(slow, { n: i, ms: 800 }, { id: `restart-${i}` }));
    await ledgerUntil(ledger, () => [0, 1, 2, 3, 4].every((i) => calls(`restart-${i}:s:1`) === 1));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1_500));
    await redis.restart();
    const outputs = await Promise.all(runs.map((r) => r.result));
    expect(outputs.map((o) => (o as { s: { n: number } }).s.n)).toEqual([0, 1, 2, 3, 4]);
    // No silently dead worker: new jobs after the restart are taken too.
    const after = await engine.start(pipeline, { n: 1 }, { id: 'restart-after' }).result;
    expect(after).toMatchObject({ second: { n: 2, pid: worker.pid } });
  }, 60_000);
});
