// Chaos: `pruneRuns` in another process, pruning every ended run in batches of 3 as fast as it can, on the SQLite
// file of an engine that starts runs, ends them (named events, named cancels), passivates the waiting ones, posts
// named signals to runs that wait on and sends named signals again to runs that ended (pruned or not). Nothing
// unfinished may lose a row (run, journal, timers, kept answers), no step may run twice, every ended run is kept
// whole or deleted whole, and a signal sent again gets its kept answer or RUN_NOT_FOUND: never applied twice, never
// hung. Short in `npm test`; CHAOS=long runs more.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sqliteStore, type WorkflowRun, workflow } from '../../src/index.js';
import { keyedSignalId } from '../../src/runtime/inbox.js';
import { buildPackage, root } from '../support/cli.js';
import { testEngine } from '../support/engine.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RUNS = process.env.CHAOS === 'long' ? 240 : 60;
const gate = workflow('prune-race')
  .step('prepare')
  .waitFor('gate', { event: 'go', schema: z.object({ n: z.number() }), timeoutMs: 3_600_000 })
  .step('finish', { input: 'results.gate' })
  .build();

const worker = new URL('../support/prune-worker.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'flowstate-prune-race-'));
const file = join(dir, 'race.db');
let bundle: string;
beforeAll(() => {
  // Its own build (as `npm run build` makes dist/): the pruner process imports the package as shipped.
  bundle = buildPackage(join(root, 'node_modules/.cache/flowstate-prune-race-test'));
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What each run is made to do: wait on (kept), take its event and end `done`, or be cancelled. */
const fate = (i: number) => (['keep', 'go', 'cancel'] as const)[i % 3];
const idOf = (i: number) => `p${String(i).padStart(3, '0')}`;

describe('pruning while an engine ends runs and posts signals on the same SQLite file', () => {
  it(`loses nothing unfinished and deletes each ended run whole (${RUNS} runs)`, async () => {
    const pruner = spawn(process.execPath, [worker, bundle, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    let errors = '';
    pruner.stdout.on('data', (d) => {
      said += String(d);
    });
    pruner.stderr.on('data', (d) => {
      errors += String(d);
    });
    const exited = new Promise((resolve) => pruner.once('exit', resolve));
    try {
      // The store (and its schema) exists before the pruner opens it.
      await sqliteStore(file).close();
      while (!said.includes('READY') && pruner.exitCode === null) await sleep(20);

      const calls = new Map<string, number>();
      const call = (key: string) => calls.set(key, (calls.get(key) ?? 0) + 1);
      const engine = testEngine({
        agents: {
          prepare: (_input: unknown, ctx: { idempotencyKey: string }) => call(ctx.idempotencyKey),
          finish: ({ n }: { n: number }, ctx: { idempotencyKey: string }) => {
            call(ctx.idempotencyKey);
            return n * 2;
          },
        },
        workflows: [gate],
        store: sqliteStore(file),
        lease: { ttlMs: 300 },
        inbox: { pollMs: 20 },
        passivate: { afterMs: 50, wakeAheadMs: 100, pollMs: 50 },
      });
      const runs = new Map<string, WorkflowRun>();
      const resent: Array<{ id: string; answer: unknown }> = [];
      const waiting = async (id: string) => {
        for (let i = 0; i < 500 && (await engine.get(id))?.status !== 'waiting'; i++) await sleep(10);
      };
      /** A named signal sent again: its kept answer, or RUN_NOT_FOUND once its run was pruned. */
      const resend = async (id: string, i: number) => {
        const again =
          fate(i) === 'go'
            ? engine.send(id, { type: 'go', n: i }, { signalId: 'go' })
            : engine.cancel(id, 'stop', { signalId: 'stop' });
        resent.push({ id, answer: await again.catch((error: { code?: string }) => error.code) });
      };
      const drive = async (i: number) => {
        const id = idOf(i);
        await sleep(Math.random() * 1_500);
        await waiting(id);
        if (fate(i) === 'keep') {
          // Taken by no step: applied with `false`, its answer kept with the run.
          expect(await engine.send(id, { type: 'noop' }, { signalId: 'noop' })).toBe(false);
          return;
        }
        await resend(id, i);
        await (runs.get(id) as WorkflowRun).result.catch(() => {});
        for (let k = 0; k < 3; k++) {
          await sleep(100 + Math.random() * 400);
          await resend(id, i);
        }
      };
      const drivers: Array<Promise<void>> = [];
      for (let i = 0; i < RUNS; i++) {
        const run = engine.start(gate, {}, { id: idOf(i) });
        run.result.catch(() => {});
        runs.set(run.id, run);
        drivers.push(drive(i));
        if (i % 10 === 9) await sleep(50);
      }
      await Promise.all(drivers);
      await engine.flush();
      await sleep(600); // the last ended runs' leases end; the pruner takes them
      pruner.kill('SIGTERM');
      await exited;
      const [, pruned = '0', batches = '0', failed = '-1'] = /PRUNED (\d+) (\d+) (\d+)/.exec(said) ?? [];
      expect(errors).toBe('');
      expect(Number(failed)).toBe(0);
      expect(Number(pruned)).toBeGreaterThan(0);

      // Every answer to a signal sent again is its first answer or RUN_NOT_FOUND (pruned), nothing else.
      for (const { id, answer } of resent) {
        const i = Number(id.slice(1));
        expect([fate(i) === 'go' ? true : undefined, 'RUN_NOT_FOUND'], id).toContain(answer);
      }
      const store = sqliteStore(file);
      let gone = 0;
      for (let i = 0; i < RUNS; i++) {
        const id = idOf(i);
        const run = await store.getRun(id);
        const journal = (await store.listJournal?.(id)) ?? [];
        const name = fate(i) === 'keep' ? 'noop' : fate(i) === 'go' ? 'go' : 'stop';
        const answer = await store.getMessage(keyedSignalId(id, name));
        if (fate(i) === 'keep') {
          // Unfinished: all of it is there.
          expect(run?.status, id).toBe('waiting');
          expect(
            journal.map((e) => e.stepPath),
            id,
          ).toEqual(['prepare']);
          expect(await store.listTimers(id), id).toHaveLength(1);
          expect(answer, id).toMatchObject({ state: 'applied', result: 'false' });
        } else if (run === undefined) {
          gone++;
          expect(journal, id).toEqual([]);
          expect(await store.listTimers(id), id).toEqual([]);
          expect(answer, id).toBeUndefined();
        } else {
          expect(run.status, id).toBe(fate(i) === 'go' ? 'done' : 'cancelled');
          expect(journal.length, id).toBeGreaterThan(0);
          expect(answer?.state, id).toBe('applied');
        }
      }
      expect(gone).toBeGreaterThan(0);
      const notFound = resent.filter((r) => r.answer === 'RUN_NOT_FOUND').length;
      console.log(
        `chaos prune-race: ${JSON.stringify({ runs: RUNS, pruned: Number(pruned), batches: Number(batches), gone, resent: resent.length, notFound })}`,
      );
      // The kept runs go on: the journaled step is not run again, and each ends with its event.
      for (let i = 0; i < RUNS; i++) if (fate(i) === 'keep') await engine.send(idOf(i), { type: 'go', n: i });
      for (let i = 0; i < RUNS; i++)
        if (fate(i) !== 'cancel')
          expect(await (runs.get(idOf(i)) as WorkflowRun).result).toMatchObject({ finish: i * 2 });
      expect([...calls.entries()].filter(([, n]) => n > 1)).toEqual([]);
      await engine.close();
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(file, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
      await store.close();
    } finally {
      if (pruner.exitCode === null) pruner.kill('SIGKILL');
    }
  }, 180_000);
});
