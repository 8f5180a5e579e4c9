import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, postgresStore, sqliteStore, workflow } from 'flowstate';
import { pino } from 'pino';
import { compare, each, scale } from '../harness.mjs';
import { noop, sequenceNames } from '../workloads.mjs';
import { postgres } from './postgres-server.mjs';

const STEPS = 10;
const IN_FLIGHT = 100;

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
    return [
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
  return { engine, definition };
}
