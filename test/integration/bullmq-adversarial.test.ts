// Agent steps on BullMQ workers under an adversarial user's trial: a run id used again, a job cancelled or timed out
// while it waits in its queue, a worker without the step's agent (rolling upgrade), a step input JSON cannot carry,
// a worker closed while Redis is down, queue names no step could use, a consumer that is not a Flowstate worker.
// A real redis-server (no persistence), `createWorker` in this process (from src, no build needed).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BullmqTransport,
  bullmqTransport,
  createWorker,
  type FlowstateWorker,
  jobIdOf,
} from '../../src/bullmq/index.js';
import { cancelKey } from '../../src/bullmq/redis.js';
import { runWorkerCommand } from '../../src/cli/commands/worker.js';
import { createEngine, type Engine, sqliteStore, workflow } from '../../src/index.js';
import { pruneRuns } from '../../src/persistence/index.js';
import { silent } from '../support/engine.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.mjs';

let redis: RedisServer;
let dir: string;
beforeAll(async () => {
  redis = await startRedisServer({ persistent: false });
  dir = mkdtempSync(join(tmpdir(), 'flowstate-bullmq-adversarial-'));
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Whether `p` settles within `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then(
      () => 'settled',
      () => 'settled',
    ),
    sleep(ms).then(() => 'pending'),
  ]);
let queues = 0;
/** A queue name of its own for each test. */
const fresh = (what: string) => `${what}-${Date.now()}-${++queues}`;

/** Opens what a test needs and closes it after, whatever happens. */
async function using<T>(
  opened: { engines?: Engine[]; transports?: BullmqTransport[]; workers?: FlowstateWorker[] },
  test: () => Promise<T>,
): Promise<T> {
  try {
    return await test();
  } finally {
    for (const engine of opened.engines ?? []) await engine.close();
    for (const transport of opened.transports ?? []) await transport.close();
    for (const worker of opened.workers ?? []) await worker.close(true);
  }
}

describe('a run id used again', () => {
  /** An agent that prices its input, recording each call. */
  const pricing = () => {
    const calls: unknown[] = [];
    const agents = {
      price: async (input: { sku: string; qty: number }) => {
        calls.push(input);
        return { sku: input.sku, total: input.qty * 10 };
      },
    };
    return { calls, agents };
  };

  it('runs the agent again, for the new input, without a store', async () => {
    const queue = fresh('reuse');
    const { calls, agents } = pricing();
    const worker = createWorker({ connection: redis.url, queue, agents, logger: silent });
    await worker.ready();
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const wf = workflow('reuse').step('price', { queue, input: 'input' }).build();
    const engine = createEngine({ transport, workflows: [wf], logger: silent });
    await using({ engines: [engine], transports: [transport], workers: [worker] }, async () => {
      expect(await engine.start(wf, { sku: 'A', qty: 1 }, { id: 'x' }).result).toEqual({
        price: { sku: 'A', total: 10 },
      });
      // The first run ended: its id is free, its job (same id: x:price:1) kept for keepResultsMs.
      expect(await engine.start(wf, { sku: 'B', qty: 9 }, { id: 'x' }).result).toEqual({
        price: { sku: 'B', total: 90 },
      });
      expect(calls).toEqual([
        { sku: 'A', qty: 1 },
        { sku: 'B', qty: 9 },
      ]);
      expect(transport.stats.replaced).toBe(1);
    });
  }, 20_000);

  it('runs the agent again after `runs prune` freed the id (a store)', async () => {
    const queue = fresh('pruned');
    const { calls, agents } = pricing();
    const worker = createWorker({ connection: redis.url, queue, agents, logger: silent });
    await worker.ready();
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const wf = workflow('reuse').step('price', { queue, input: 'input' }).build();
    const store = sqliteStore(join(dir, 'pruned.db'));
    const engine = createEngine({
      store,
      transport,
      workflows: [wf],
      logger: silent,
      lease: { owner: 'r', ttlMs: 200 },
    });
    await using({ engines: [engine], transports: [transport], workers: [worker] }, async () => {
      await engine.start(wf, { sku: 'A', qty: 1 }, { id: 'order-77' }).result;
      await sleep(500); // its lease over: prunable
      expect((await pruneRuns(store, { endedBefore: Date.now() + 1 })).runs).toBe(1);
      expect(await engine.start(wf, { sku: 'B', qty: 9 }, { id: 'order-77' }).result).toEqual({
        price: { sku: 'B', total: 90 },
      });
      expect(calls).toHaveLength(2);
    });
  }, 20_000);

  it("runs the agent again for a migration's restart with a new input", async () => {
    const queue = fresh('restart');
    const { calls, agents } = pricing();
    const worker = createWorker({ connection: redis.url, queue, agents, logger: silent });
    await worker.ready();
    const v1 = workflow('orders')
      .step('price', { queue, input: 'input' })
      .waitFor('approval', { event: 'approved', timeoutMs: 3_600_000 })
      .build();
    const v2 = workflow('orders')
      .step('price', { queue, input: 'input' })
      .waitFor('approval', { event: 'approved', timeoutMs: 3_600_000 })
      .step('again', { agent: 'price', queue, input: 'input' })
      .build();
    const db = join(dir, 'restart.db');
    const t1 = bullmqTransport({ connection: redis.url, logger: silent });
    const e1 = createEngine({ store: sqliteStore(db), transport: t1, workflows: [v1], logger: silent });
    const t2 = bullmqTransport({ connection: redis.url, logger: silent });
    const e2 = createEngine({
      store: sqliteStore(db),
      transport: t2,
      workflows: [v2],
      logger: silent,
      migrate: { orders: () => ({ action: 'restart', input: { sku: 'B', qty: 25 } }) },
    });
    await using({ engines: [e1, e2], transports: [t1, t2], workers: [worker] }, async () => {
      const first = e1.start(v1, { sku: 'A', qty: 10 }, { id: 'order-9' });
      for (let i = 0; i < 100 && (await e1.get('order-9'))?.status !== 'waiting'; i++) await sleep(50);
      expect(calls).toHaveLength(1);
      await e1.close();
      await first.result.catch(() => {});
      const run = await e2.resume('order-9');
      for (let i = 0; i < 100 && calls.length < 2; i++) await sleep(50);
      await e2.send('order-9', { type: 'approved' });
      expect(await run.result).toMatchObject({
        price: { sku: 'B', total: 250 },
        again: { sku: 'B', total: 250 },
      });
      expect(calls).toHaveLength(3);
    });
  }, 30_000);

  it("waits for another run's job still running under the id, then runs its own", async () => {
    const queue = fresh('running');
    const calls: string[] = [];
    // Ignores ctx.signal, as an agent in the middle of a call it cannot abort.
    const agents = {
      slow: async (input: { tag: string }) => {
        calls.push(input.tag);
        await sleep(600);
        return input.tag;
      },
    };
    const worker = createWorker({ connection: redis.url, queue, agents, concurrency: 2, logger: silent });
    await worker.ready();
    const transport = bullmqTransport({ connection: redis.url, logger: silent, checkEveryMs: 200 });
    const wf = workflow('running').step('s', { agent: 'slow', queue, input: 'input' }).build();
    const engine = createEngine({ transport, workflows: [wf], logger: silent });
    await using({ engines: [engine], transports: [transport], workers: [worker] }, async () => {
      const first = engine.start(wf, { tag: 'first' }, { id: 'y' });
      for (let i = 0; i < 100 && calls.length === 0; i++) await sleep(20);
      await engine.cancel('y', 'changed my mind');
      await expect(first.result).rejects.toMatchObject({ code: 'CANCELLED' });
      // The first run's job still runs (its agent ignores the abort): the second run's attempt waits for it to
      // end, then replaces it.
      expect(await engine.start(wf, { tag: 'second' }, { id: 'y' }).result).toEqual({ s: 'second' });
      expect(calls).toEqual(['first', 'second']);
      expect(transport.stats.replaced).toBe(1);
    });
  }, 20_000);

  it('still attaches a re-dispatched attempt (an owner after a crash) to its job: the agent runs once', async () => {
    const queue = fresh('attach');
    const calls: unknown[] = [];
    const agents = {
      io: async (input: { n: number }) => {
        calls.push(input);
        await sleep(300);
        return input.n;
      },
    };
    const worker = createWorker({ connection: redis.url, queue, agents, logger: silent });
    await worker.ready();
    const a = bullmqTransport({ connection: redis.url, logger: silent });
    const b = bullmqTransport({ connection: redis.url, logger: silent });
    await using({ transports: [a, b], workers: [worker] }, async () => {
      const job = {
        queue,
        agent: 'io',
        input: { n: 7 },
        runId: 'attach-1',
        stepPath: 's',
        attempt: 1,
        idempotencyKey: 'attach-1:s:1',
      };
      const first = a.call(job, new AbortController().signal);
      await sleep(100);
      // A second owner while the first waits (running), then a third once it finished; the input as restored
      // from a stored snapshot (a copy through JSON).
      const second = b.call(JSON.parse(JSON.stringify(job)), new AbortController().signal);
      expect(await Promise.all([first, second])).toEqual([7, 7]);
      expect(await b.call({ ...job, input: { n: 7 } }, new AbortController().signal)).toBe(7);
      expect(calls).toHaveLength(1);
      expect(b.stats.reattached).toBe(2);
      expect(b.stats.replaced).toBe(0);
      // What the job carries: the protocol version and the attempt's fingerprint, read by workers and engines.
      const stored = await new Queue(queue, { connection: { url: redis.url }, prefix: 'flowstate' });
      try {
        const saved = await stored.getJob(jobIdOf('attach-1:s:1'));
        expect(saved?.data).toMatchObject({ v: 1, fingerprint: expect.any(String), runId: 'attach-1' });
        expect(saved?.returnvalue).toMatchObject({
          ok: true,
          output: 7,
          v: 1,
          fingerprint: saved?.data.fingerprint,
        });
      } finally {
        await stored.close();
      }
    });
  }, 20_000);
});

describe('a job cancelled or timed out while it waits in its queue', () => {
  /** A worker of one slot, held by `block` until released, and an agent with a side effect that ignores ctx.signal. */
  async function busyWorker(queue: string) {
    const calls: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const agents = {
      block: async () => {
        await gate;
        return 'unblocked';
      },
      effect: async (_input: unknown, ctx: { idempotencyKey: string }) => {
        calls.push(ctx.idempotencyKey);
        await sleep(50);
        return 'charged';
      },
    };
    const worker = createWorker({ connection: redis.url, queue, agents, concurrency: 1, logger: silent });
    await worker.ready();
    return { calls, release, worker };
  }

  it('never calls the agent of a cancelled run, nor of attempts that timed out in the queue', async () => {
    const queue = fresh('queued');
    const { calls, release, worker } = await busyWorker(queue);
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const blocker = workflow('blocker').step('b', { agent: 'block', queue }).build();
    const charge = workflow('charge').step('pay', { agent: 'effect', queue }).build();
    const timed = workflow('timed')
      .step('pay', { agent: 'effect', queue, timeoutMs: 200, retry: { attempts: 3, initialMs: 10 } })
      .build();
    const engine = createEngine({ transport, workflows: [blocker, charge, timed], logger: silent });
    await using({ engines: [engine], transports: [transport], workers: [worker] }, async () => {
      try {
        const b = engine.start(blocker, {});
        await sleep(300);
        const cancelled = engine.start(charge, {}, { id: 'cancelled-run' });
        const timedOut = engine.start(timed, {}, { id: 'timed-out-run' });
        await sleep(200);
        await engine.cancel('cancelled-run', 'customer withdrew');
        await expect(cancelled.result).rejects.toMatchObject({ code: 'CANCELLED' });
        // Three attempts timed out while queued: the run failed.
        await expect(timedOut.result).rejects.toMatchObject({ code: 'STEP_FAILED' });
        release();
        await b.result;
        await sleep(800);
        expect(calls).toEqual([]);
        // Their four jobs were taken off the queue, or (a removal that lost the race with the released worker)
        // finished by the worker without calling the agent.
        expect(transport.stats.removed).toBeGreaterThanOrEqual(2);
        expect(transport.stats.removed + worker.skipped).toBe(4);
      } finally {
        release();
      }
    });
  }, 20_000);

  it('a worker reads the cancellation before calling the agent (a job the engine could not remove)', async () => {
    const queue = fresh('late');
    const calls: string[] = [];
    const agents = { effect: async () => void calls.push('called') };
    // The job and its cancellation as an engine leaves them when the job's removal lost a race with a worker.
    const producer = new Queue(queue, { connection: { url: redis.url }, prefix: 'flowstate' });
    const id = jobIdOf('late-1:pay:1');
    await producer.add(
      'effect',
      {
        v: 1,
        fingerprint: 'f',
        input: {},
        runId: 'late-1',
        stepPath: 'pay',
        attempt: 1,
        idempotencyKey: 'late-1:pay:1',
      },
      { jobId: id },
    );
    await redis.command(
      'SET',
      cancelKey('flowstate', queue, id),
      JSON.stringify({ jobId: id, reason: 'customer withdrew', code: 'CANCELLED' }),
    );
    const worker = createWorker({ connection: redis.url, queue, agents, logger: silent });
    await using({ workers: [worker] }, async () => {
      try {
        for (let i = 0; i < 200 && worker.processed === 0; i++) await sleep(20);
        expect(calls).toEqual([]);
        expect(worker.skipped).toBe(1);
        const job = await producer.getJob(id);
        expect(job?.returnvalue).toMatchObject({ ok: false, cancelled: true, error: { code: 'CANCELLED' } });
      } finally {
        await producer.close();
      }
    });
  }, 20_000);
});

describe('a worker without the agent of a job (rolling upgrade)', () => {
  it('hands the job back to the queue for a worker that has it: no step fails', async () => {
    const queue = fresh('mixed');
    const old = createWorker({
      connection: redis.url,
      queue,
      agents: { other: async () => 1 },
      concurrency: 4,
      logger: silent,
    });
    const neu = createWorker({
      connection: redis.url,
      queue,
      agents: { fresh: async () => 'ok' },
      concurrency: 4,
      logger: silent,
    });
    await Promise.all([old.ready(), neu.ready()]);
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const wf = workflow('mixed')
      .step('a', { agent: 'fresh', queue, retry: { attempts: 3, initialMs: 10 } })
      .build();
    const engine = createEngine({ transport, workflows: [wf], logger: silent });
    await using({ engines: [engine], transports: [transport], workers: [old, neu] }, async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => engine.start(wf, {}).result),
      );
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      expect(old.handedBack).toBeGreaterThan(0);
      expect(old.processed).toBe(0);
    });
  }, 30_000);

  it('fails the attempt retryably, naming the worker and the agent, once no worker took it for a while', async () => {
    const queue = fresh('lacking');
    const old = createWorker({
      connection: redis.url,
      queue,
      agents: { other: async () => 1 },
      logger: silent,
      name: 'old-worker-1',
      handBackForMs: 300,
    });
    await old.ready();
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const wf = workflow('lacking')
      .step('a', { agent: 'fresh', queue, retry: { attempts: 2, initialMs: 10 } })
      .build();
    const engine = createEngine({ transport, workflows: [wf], logger: silent });
    await using({ engines: [engine], transports: [transport], workers: [old] }, async () => {
      const error = await engine.start(wf, {}).result.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STEP_FAILED', attempts: 2 }); // retried: not the agent's fault
      const cause = (error as { cause: { code: string; message: string } }).cause;
      expect(cause.code).toBe('AGENT_NOT_ON_WORKER');
      expect(cause.message).toContain("Worker 'old-worker-1'");
      expect(cause.message).toContain("has no agent 'fresh'");
    });
  }, 30_000);
});

describe('values JSON cannot carry', () => {
  it('fails a step whose input is not JSON at once, not retryable, without dispatching it', async () => {
    const queue = fresh('bigint');
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const circular: Record<string, unknown> = { x: 1 };
    circular.self = circular;
    const big = workflow('big')
      .step('a', { agent: 'echo', queue, retry: { attempts: 3 }, input: () => ({ amount: 10n }) })
      .build();
    const loop = workflow('loop')
      .step('a', { agent: 'echo', queue, retry: { attempts: 3 }, input: () => circular })
      .build();
    const engine = createEngine({ transport, workflows: [big, loop], logger: silent });
    await using({ engines: [engine], transports: [transport] }, async () => {
      for (const wf of [big, loop]) {
        const run = engine.start(wf, {});
        expect(await within(run.result, 5_000)).toBe('settled');
        const error = await run.result.catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'STEP_FAILED', attempts: 1 });
        expect((error as { cause: { code: string; message: string } }).cause).toMatchObject({
          code: 'NOT_JSON',
          message: expect.stringContaining("The input of step 'a'"),
        });
      }
      expect(transport.stats.dispatched).toBe(0);
    });
  }, 20_000);

  it("fails an attempt whose agent's output is not JSON, not retryable", async () => {
    const queue = fresh('bigout');
    const calls: number[] = [];
    const worker = createWorker({
      connection: redis.url,
      queue,
      agents: {
        weird: async () => {
          calls.push(1);
          return { big: 10n };
        },
      },
      logger: silent,
    });
    await worker.ready();
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const wf = workflow('bigout')
      .step('a', { agent: 'weird', queue, retry: { attempts: 3, initialMs: 10 } })
      .build();
    const engine = createEngine({ transport, workflows: [wf], logger: silent });
    await using({ engines: [engine], transports: [transport], workers: [worker] }, async () => {
      const error = await engine.start(wf, {}).result.catch((e: unknown) => e);
      expect((error as { cause: { code: string } }).cause.code).toBe('NOT_JSON');
      expect(calls).toHaveLength(1);
    });
  }, 20_000);
});

describe('a worker closed while Redis is down', () => {
  it('closes an idle worker within seconds', async () => {
    const own = await startRedisServer({ persistent: false });
    const worker = createWorker({
      connection: own.url,
      queue: 'idle',
      agents: { a: async () => 1 },
      logger: silent,
    });
    try {
      await worker.ready();
      await own.kill();
      await sleep(1_000); // its connections notice, and start reconnecting
      const t0 = Date.now();
      expect(await within(worker.close(), 10_000)).toBe('settled');
      expect(Date.now() - t0).toBeLessThan(6_000);
    } finally {
      await own.stop();
    }
  }, 30_000);

  it('finishes its running agent, then closes within seconds', async () => {
    const own = await startRedisServer({ persistent: false });
    const ended: string[] = [];
    const queue = 'busy';
    const worker = createWorker({
      connection: own.url,
      queue,
      agents: {
        slow: async () => {
          await sleep(1_500);
          ended.push('done');
          return 1;
        },
      },
      logger: silent,
    });
    const producer = new Queue(queue, { connection: { url: own.url }, prefix: 'flowstate' });
    producer.on('error', () => {});
    try {
      await worker.ready();
      await producer.add('slow', {
        input: {},
        runId: 'r',
        stepPath: 's',
        attempt: 1,
        idempotencyKey: 'r:s:1',
      });
      for (let i = 0; i < 100 && worker.running === 0; i++) await sleep(20);
      expect(worker.running).toBe(1);
      await own.kill();
      const t0 = Date.now();
      expect(await within(worker.close(), 10_000)).toBe('settled');
      expect(ended).toEqual(['done']); // not forced: the agent finished
      expect(Date.now() - t0).toBeLessThan(7_000);
    } finally {
      producer.disconnect();
      await own.stop();
    }
  }, 30_000);

  it('`flowstate worker` exits 0 on SIGTERM while Redis is down', async () => {
    const own = await startRedisServer({ persistent: false });
    // The CLI from src through jiti (no build): its own process, as in production.
    const child: ChildProcess = spawn(
      process.execPath,
      [
        'node_modules/jiti/lib/jiti-cli.mjs',
        'src/cli/main.ts',
        'worker',
        '--redis',
        own.url,
        '--queue',
        'sigterm',
        '--agents',
        'test/support/bullmq-agents.mjs',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLOWSTATE_LOG_LEVEL: 'error' } },
    );
    let output = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      await new Promise<void>((ready, fail) => {
        const timer = setTimeout(() => fail(new Error(`worker not ready in 60 s:\n${output}`)), 60_000);
        const read = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('flowstate worker: queue')) {
            clearTimeout(timer);
            ready();
          }
        };
        child.stdout?.on('data', read);
        child.stderr?.on('data', read);
      });
      await own.kill();
      await sleep(1_000);
      const t0 = Date.now();
      child.kill('SIGTERM');
      expect(await Promise.race([exited, sleep(15_000).then(() => 'still running')])).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8_000);
      expect(output).toContain('flowstate worker: stopped after 0 jobs');
    } finally {
      child.kill('SIGKILL');
      await own.stop();
    }
  }, 90_000);
});

describe('queue names and consumers', () => {
  it('refuses a defaultQueue or a worker queue no step could use, naming it', () => {
    for (const queue of ['a:b', '', 'my queue']) {
      expect(() => createEngine({ defaultQueue: queue, logger: silent })).toThrow(
        expect.objectContaining({
          code: 'CONFIGURATION_INVALID',
          message: expect.stringContaining(`'${queue}'`),
        }),
      );
      expect(() => createWorker({ connection: redis.url, queue, agents: {}, logger: silent })).toThrow(
        expect.objectContaining({
          code: 'CONFIGURATION_INVALID',
          message: expect.stringContaining(`'${queue}'`),
        }),
      );
    }
  });

  it('`flowstate worker --queue` with such a name is a usage error (exit 2), not a stack', async () => {
    for (const queue of ['a:b', 'my queue']) {
      const err: string[] = [];
      const code = await runWorkerCommand(
        { redis: redis.url, queue, agents: 'test/support/bullmq-agents.mjs', concurrency: undefined },
        { out: () => {}, err: (line) => void err.push(line) },
      );
      expect(code).toBe(2);
      expect(err.join('\n')).toContain(`--queue takes a name a step can give as its queue`);
      expect(err.join('\n')).toContain(`got '${queue}'`);
    }
  });

  it("says what is wrong when a consumer that is not a Flowstate worker completes a step's job", async () => {
    const queue = fresh('foreign');
    const foreign = new Worker(queue, async () => ({ answer: 42 }), {
      connection: { url: redis.url },
      prefix: 'flowstate',
    });
    const transport = bullmqTransport({ connection: redis.url, logger: silent });
    const wf = workflow('foreign').step('a', { agent: 'slow', queue }).build();
    const engine = createEngine({ transport, workflows: [wf], logger: silent });
    try {
      const error = await engine.start(wf, {}).result.catch((e: unknown) => e);
      const message = (error as { cause: { message: string } }).cause.message;
      expect(message).toContain("completed without a Flowstate result (it returned an object with 'answer')");
      expect(message).toContain(
        `a consumer that is not a Flowstate worker takes the jobs of queue '${queue}'`,
      );
    } finally {
      await engine.close();
      await transport.close();
      await foreign.close(true);
    }
  }, 20_000);
});
