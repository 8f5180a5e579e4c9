// The figures of docs/distributed.md (issue 14), on the built package: steps/s of 50 ms I/O agents on 1, 2 and 4
// `flowstate worker` processes, and the dispatch overhead engine -> worker -> result (p50, p99) on loopback.
// One engine in this process on a SQLite store (outputs journaled), a throwaway redis-server (AOF on).
//   npm run build && node bench/distributed.mjs [--workers=1,2,4] [--steps=2000] [--concurrency=16]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { startRedisServer } from '../test/support/redis-server.mjs';

const arg = (name, fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const workerCounts = arg('workers', '1,2,4').split(',').map(Number);
const totalSteps = Number(arg('steps', '2000'));
const concurrency = Number(arg('concurrency', '16'));
const dist = resolve(process.env.FLOWSTATE_DIST ?? 'dist');
const { bullmqTransport } = await import(pathToFileURL(`${dist}/bundle/bullmq.js`).href);
const { createEngine, sqliteStore, workflow } = await import(pathToFileURL(`${dist}/bundle/index.js`).href);
const agentsModule = new URL('../test/support/bullmq-agents.mjs', import.meta.url).pathname;
const silent = pino({ level: 'silent' });

const redis = await startRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'flowstate-bench-dist-'));
const children = new Set();

/** Starts `flowstate worker` processes and resolves once each said it consumes the queue. */
async function startWorkers(count, queue) {
  const started = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(
      process.execPath,
      [
        `${dist}/bundle/cli.js`,
        'worker',
        '--redis',
        redis.url,
        '--queue',
        queue,
        '--agents',
        agentsModule,
        '--concurrency',
        String(concurrency),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.add(child);
    started.push(
      new Promise((done) => {
        let text = '';
        child.stdout.on('data', (d) => {
          text += d;
          if (text.includes('flowstate worker: queue')) done();
        });
      }),
    );
  }
  await Promise.all(started);
  return () => {
    for (const child of children) child.kill('SIGTERM');
    children.clear();
  };
}

/** An engine on its own SQLite file whose steps all go to `queue`. */
function engineFor(name, queue, transport) {
  return createEngine({
    store: sqliteStore(join(dir, `${name}.db`)),
    transport,
    defaultQueue: queue,
    logger: silent,
  });
}

const ten = workflow('ten-steps');
let built = ten;
for (let i = 0; i < 10; i++)
  built = built.step(`s${i}`, { agent: 'io', input: (c) => ({ n: i, ms: c.input.ms }) });
const tenSteps = built.build();

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const results = { scaling: [], dispatch: undefined };

// Scaling: enough runs of ten 50 ms steps in flight to keep every worker slot busy.
for (const count of workerCounts) {
  const queue = `scale-${count}`;
  const stop = await startWorkers(count, queue);
  const transport = bullmqTransport({ connection: redis.url, logger: silent });
  const engine = engineFor(queue, queue, transport);
  const runs = totalSteps / 10;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: runs }, (_, i) => engine.start(tenSteps, { ms: 50 }, { id: `r${i}` }).result),
  );
  const seconds = (performance.now() - t0) / 1000;
  const stepsPerSecond = Math.round(totalSteps / seconds);
  results.scaling.push({
    workers: count,
    concurrency,
    steps: totalSteps,
    seconds: Math.round(seconds * 10) / 10,
    stepsPerSecond,
    ideal: Math.round((count * concurrency * 1000) / 50),
  });
  console.log(`scaling: ${JSON.stringify(results.scaling.at(-1))}`);
  await engine.close();
  await transport.close();
  stop();
}

// Dispatch overhead: one run at a time of ten 0 ms steps; each transport call timed (add, worker, result back),
// and each step's whole cost (dispatch plus journaling) against the same workflow with the agent in process.
{
  const stop = await startWorkers(1, 'latency');
  const inner = bullmqTransport({ connection: redis.url, logger: silent });
  const calls = [];
  const timed = {
    call: async (job, signal) => {
      const t = performance.now();
      const out = await inner.call(job, signal);
      calls.push(performance.now() - t);
      return out;
    },
  };
  const remote = engineFor('latency', 'latency', timed);
  const local = createEngine({
    store: sqliteStore(join(dir, 'local.db')),
    agents: { io: async () => ({}) },
    logger: silent,
  });
  const perStep = async (engine, prefix, n) => {
    const times = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await engine.start(tenSteps, { ms: 0 }, { id: `${prefix}${i}` }).result;
      times.push((performance.now() - t) / 10);
    }
    return times.sort((a, b) => a - b);
  };
  await perStep(remote, 'warm', 20);
  await perStep(local, 'warm', 20);
  calls.length = 0;
  const remoteSteps = await perStep(remote, 'm', 200);
  const localSteps = await perStep(local, 'm', 200);
  const sorted = calls.sort((a, b) => a - b);
  const round = (x) => Math.round(x * 100) / 100;
  results.dispatch = {
    calls: sorted.length,
    callP50: round(percentile(sorted, 50)),
    callP99: round(percentile(sorted, 99)),
    stepP50Remote: round(percentile(remoteSteps, 50)),
    stepP99Remote: round(percentile(remoteSteps, 99)),
    stepP50Local: round(percentile(localSteps, 50)),
    stepP99Local: round(percentile(localSteps, 99)),
  };
  console.log(`dispatch (ms): ${JSON.stringify(results.dispatch)}`);
  await remote.close();
  await local.close();
  await inner.close();
  stop();
}

await redis.stop();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(results));
process.exit(0);
