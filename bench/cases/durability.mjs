import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, postgresStore, sqliteStore, workflow } from 'flowstate';
import { pino } from 'pino';
import { compare, each, scale, summarize } from '../harness.mjs';
import { noop, sequenceNames } from '../workloads.mjs';
import { postgres } from './postgres-server.mjs';

const STEPS = 10;
const IN_FLIGHT = 100;
/** Runs one engine owns while its leases are renewed. */
const OWNED = 1_000;

/**
 * Durable steps: 100 concurrent 10-step workflows on an engine with a store, until every run is done and every
 * checkpoint and journal entry is committed (`engine.flush()`); µs per step, amortized over the batch. Only Flowstate
 * has a store, so the in-memory engine is the comparison row.
 */
export async function durabilityCases({ settings }) {
  const dir = mkdtempSync(join(tmpdir(), 'flowstate-bench-'));
  const server = settings.postgres ? await postgres() : undefined;
  const engines = {
    memory: engineWith(undefined),
    sqlite: engineWith(sqliteStore(join(dir, 'bench.db'))),
    ...(server ? { postgres: engineWith(postgresStore(server.url)) } : {}),
  };
  try {
    let batch = 0;
    const tasks = each(engines, ({ engine, definition }) => async () => {
      const b = batch++;
      const runs = Array.from(
        { length: IN_FLIGHT },
        (_, i) => engine.start(definition, {}, { id: `b${b}-${i}` }).result,
      );
      await Promise.all(runs);
      await engine.flush();
    });
    const results = await compare('durability', tasks, settings.heavy);
    const renewal = await renewals(engines, settings.heavy.iterations);
    return [
      {
        id: 'renewal',
        title: `lease renewal, ${OWNED} runs owned by one engine (one statement, every ttl/3)`,
        unit: 'ms',
        better: 'lower',
        baseline: 'sqlite',
        results: renewal,
      },
      {
        id: 'durable',
        title: `durable step, ${IN_FLIGHT} concurrent ${STEPS}-step workflows`,
        unit: 'µs/step',
        better: 'lower',
        baseline: 'memory',
        results: each(results, (r) => scale(r, 1000 / (IN_FLIGHT * STEPS))),
      },
    ];
  } finally {
    for (const { engine } of Object.values(engines)) await engine.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The cost of keeping leases: an engine owns OWNED parked runs (each waiting for an event), and renews them all in the
 * one statement its renewal loop uses. ms per renewal; the load is one such statement every ttl/3 per engine.
 */
async function renewals(engines, samples) {
  const out = {};
  for (const [key, { engine }] of Object.entries(engines)) {
    if (key === 'memory') continue;
    const parked = workflow('parked').waitFor('go', { event: 'go', timeoutMs: 3_600_000 }).build();
    engine.register(parked);
    const runs = Array.from({ length: OWNED }, (_, i) =>
      engine.start(parked, {}, { id: `parked-${key}-${i}` }),
    );
    await engine.flush();
    await new Promise((r) => setTimeout(r, 50));
    await engine.flush();
    const store = engine.store;
    const times = [];
    for (let i = 0; i < Math.max(10, samples); i++) {
      const t0 = performance.now();
      const held = await store.renew(engine.owner, Date.now() + 15_000);
      times.push(performance.now() - t0);
      if (held.length < OWNED) throw new Error(`renewal held ${held.length} of ${OWNED} runs`);
    }
    for (const run of runs) run.cancel();
    await Promise.allSettled(runs.map((r) => r.result));
    out[key] = summarize(times);
  }
  return out;
}

function engineWith(store) {
  const engine = createEngine({
    agents: { noop },
    logger: pino({ level: 'silent' }),
    ...(store ? { store } : {}),
  });
  const b = workflow('durable');
  for (const name of sequenceNames(STEPS)) b.step(name, { agent: 'noop' });
  const definition = b.build();
  engine.register(definition);
  // The renewal case calls the store directly, as the engine's lease loop does.
  engine.store = store;
  return { engine, definition };
}
