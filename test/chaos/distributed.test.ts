// Distributed chaos (issue 14): engine replicas on PostgreSQL hand every step (ten a run) to `flowstate worker` processes over
// Redis, while the parent SIGKILLs an engine replica, a worker mid-job, and Redis itself (restarted from its AOF),
// and (long mode) FLUSHes Redis. Every run must end done with the right output: 0 lost, 0 wrong, no journaled step
// called again. Short in `npm test`; `npm run test:chaos` (CHAOS=long) runs the sizes.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/index.js';
import { type AgentWorker, readLedger, spawnAgentWorker } from '../support/bullmq.js';
import { chaosFixture, LONG, sleep } from '../support/chaos.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.mjs';

const fixture = chaosFixture('distributed');
const enginePath = new URL('../support/distributed-engine.mjs', import.meta.url).pathname;

const SIZE = LONG
  ? { runs: 500, workers: 3, concurrency: 8, ms: 50, redisKills: 5, flush: true }
  : { runs: 40, workers: 2, concurrency: 8, ms: 100, redisKills: 1, flush: false };

interface Replica {
  child: ChildProcess;
  out: string;
  err: string;
}

function spawnEngine(options: Record<string, unknown>): Replica {
  const child = spawn(process.execPath, [enginePath, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const replica: Replica = { child, out: '', err: '' };
  child.stdout?.on('data', (d) => {
    replica.out += d;
  });
  child.stderr?.on('data', (d) => {
    replica.err += d;
  });
  return replica;
}

/** Run d-n's output (see distributed-engine.mjs): s<i> = n + i + 1, x = y = n + 9. */
const expected = (n: number) => ({
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`s${i}`, { n: n + i + 1 }])),
  x: { n: n + 9 },
  y: { n: n + 9 },
});

describe('distributed chaos: engine replicas, BullMQ workers, Redis faults', () => {
  it(
    `${SIZE.runs} workflows survive an engine SIGKILL, a worker SIGKILL and ${SIZE.redisKills} Redis SIGKILL(s)`,
    async () => {
      const started = Date.now();
      const redis: RedisServer = await startRedisServer();
      const ledger = join(fixture.dir, 'ledger.jsonl');
      const store = postgresStore(fixture.pg().url);
      const workers: AgentWorker[] = [];
      const worker = () =>
        spawnAgentWorker({
          url: redis.url,
          queue: 'agents',
          ledger,
          concurrency: SIZE.concurrency,
          lockMs: 1_000,
        });
      const engineOptions = (slot: number) => ({
        pg: fixture.pg().url,
        redis: redis.url,
        owner: `replica-${slot}`,
        total: SIZE.runs,
        slot,
        slots: 2,
        ms: SIZE.ms,
      });
      const replicas: Replica[] = [];
      const faults = {
        engineKills: 0,
        workerKills: 0,
        jobsOnKilledWorker: 0,
        redisKills: 0,
        redisDownMs: 0,
        flushes: 0,
      };
      try {
        for (let i = 0; i < SIZE.workers; i++) workers.push(worker());
        await Promise.all(workers.map((w) => w.ready));
        replicas.push(spawnEngine(engineOptions(0)), spawnEngine(engineOptions(1)));

        const doneCount = async () =>
          (await store.listRuns({ limit: SIZE.runs * 2 })).filter((r) => r.status === 'done').length;
        const waitDone = async (n: number, timeoutMs: number) => {
          for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100))
            if ((await doneCount()) >= n) return;
        };
        // Faults while the runs are in flight (a run takes 9 steps in a row): from the moment the replicas have
        // dispatched a first step of every run (on a loaded machine, processes take seconds to start).
        const callCount = () => readLedger(ledger).filter((e) => e.event === 'call').length;
        for (const deadline = Date.now() + 60_000; callCount() < SIZE.runs && Date.now() < deadline; )
          await sleep(50);
        // An engine replica SIGKILLed mid-run, restarted under its owner id a moment later.
        replicas[0]?.child.kill('SIGKILL');
        faults.engineKills++;
        await sleep(300);
        replicas[0] = spawnEngine(engineOptions(0));
        // A worker SIGKILLed mid-job (the one with the most jobs in flight, called and not done, by the ledger): its
        // jobs run again elsewhere once their lock expires.
        await sleep(1_000);
        const inFlight = (pid: number) => {
          const open = new Set<string>();
          for (const l of readLedger(ledger).filter((e) => e.pid === pid))
            l.event === 'call' ? open.add(l.key) : open.delete(l.key);
          return open.size;
        };
        let counts = workers.map((w) => inFlight(w.pid));
        for (let tries = 0; Math.max(...counts) === 0 && tries < 100; tries++) {
          await sleep(50);
          counts = workers.map((w) => inFlight(w.pid));
        }
        const victim = counts.indexOf(Math.max(...counts));
        workers[victim]?.child.kill('SIGKILL');
        faults.workerKills++;
        faults.jobsOnKilledWorker = counts[victim] ?? 0;
        workers[victim] = worker();
        // Redis SIGKILLed (down 2-10 s in long mode, 2 s in short), restarted from its AOF.
        for (let k = 0; k < SIZE.redisKills; k++) {
          await sleep(k === 0 ? 1_000 : 1_500);
          await redis.kill();
          const down = LONG ? 2_000 + ((k * 1_931) % 8_000) : 2_000;
          await sleep(down);
          await redis.restart();
          faults.redisKills++;
          faults.redisDownMs += down;
        }
        if (SIZE.flush) {
          await redis.command('FLUSHALL');
          faults.flushes++;
        }
        await waitDone(SIZE.runs, LONG ? 600_000 : 90_000);

        const runs = await store.listRuns({ limit: SIZE.runs * 2 });
        const byId = new Map(runs.map((r) => [r.id, r]));
        const lost: string[] = [];
        const wrong: unknown[] = [];
        for (let n = 0; n < SIZE.runs; n++) {
          const run = byId.get(`d-${n}`);
          if (!run) lost.push(`d-${n}`);
          else if (run.status !== 'done' || !isDeepStrictEqual(run.output, expected(n)))
            wrong.push({ id: run.id, status: run.status, output: run.output, error: run.error });
        }
        const lines = readLedger(ledger);
        const calls = new Map<string, number[]>();
        for (const l of lines)
          if (l.event === 'call')
            calls.set(l.key, [...(calls.get(l.key) ?? []), (l as { t?: number }).t ?? 0]);
        let journaled = 0;
        let reExecutedJournaled = 0;
        for (const [key, times] of calls) {
          const entry = await store.getJournal(key);
          if (!entry) continue;
          journaled++;
          reExecutedJournaled += times.filter((t) => t > entry.createdAt).length;
        }
        const rerun = [...calls.values()].filter((t) => t.length > 1).length;
        const figures = {
          runs: SIZE.runs,
          workers: SIZE.workers,
          concurrency: SIZE.concurrency,
          ...faults,
          stepJobs: lines.filter((l) => l.event === 'call').length,
          keys: calls.size,
          journaled,
          keysRunTwiceOrMore: rerun,
          reExecutedJournaled,
          lost: lost.length,
          wrong: wrong.length,
          seconds: Math.round((Date.now() - started) / 100) / 10,
        };
        console.log(`chaos distributed: ${JSON.stringify(figures)}`);
        expect(wrong).toEqual([]);
        expect(lost).toEqual([]);
        expect(reExecutedJournaled).toBe(0);
        expect(faults.jobsOnKilledWorker).toBeGreaterThan(0); // the worker kill did hit jobs in flight
        expect(journaled).toBe(SIZE.runs * 10);
      } finally {
        for (const r of replicas) r.child.kill('SIGKILL');
        for (const w of workers) w.child.kill('SIGKILL');
        await store.close();
        await redis.stop();
      }
    },
    LONG ? 900_000 : 180_000,
  );
});
