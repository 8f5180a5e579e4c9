// One process running a map over a SQLite store, for the crash test of a map item journaled but not yet checkpointed.
// `first`: items 0 and 1 finish, then item 2 finishes and the process kills itself (SIGKILL) right after the write
// that journaled item 2's output, before any checkpoint records it; item 3 is in flight. `second`: recovers the run
// and prints its result. Every agent call is appended to the ledger as `<phase> <item>`.
import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import { createEngine, sqliteStore, workflow } from '../../dist/bundle/index.js';

const [phase, target, ledger] = process.argv.slice(2);

export const mapCrashWorkflow = workflow('map-crash')
  .map('m', { items: 'input', step: { agent: 'item' }, concurrency: 2 })
  .build();

const inner = sqliteStore(target);
const store = {
  ...inner,
  write: async (batch) => {
    const result = await inner.write(batch);
    if (phase === 'first' && batch.journal.some((entry) => entry.stepPath === 'm[2]'))
      process.kill(process.pid, 'SIGKILL');
    return result;
  },
};
// Methods of a class-based store need their receiver.
for (const key of Object.keys(Object.getPrototypeOf(inner) ?? {}))
  if (!(key in store)) store[key] = inner[key].bind(inner);

const engine = createEngine({
  store,
  workflows: [mapCrashWorkflow],
  logger: pino({ level: 'silent' }),
  lease: { owner: 'map-crash-worker', adopt: false },
  agents: {
    item: (n) => {
      appendFileSync(ledger, `${phase} ${n}\n`);
      if (phase === 'first' && n >= 3) return new Promise(() => {});
      return `out-${n}`;
    },
  },
});

if (phase === 'first') {
  engine.start(mapCrashWorkflow, [0, 1, 2, 3, 4, 5], { id: 'map-crash' });
} else {
  const [run] = await engine.recover();
  const result = await run.result;
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  await engine.close();
}
