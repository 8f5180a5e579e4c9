// One incarnation of a process running crash-test workflows: recovers what the last one left, starts what is
// missing, and exits when every run has ended. The parent kills it with SIGKILL at random moments.
import { pino } from 'pino';
import { createEngine, postgresStore, sqliteStore } from '../../dist/bundle/index.js';
import { crashWorkflow, inputOf, ledgerAgents } from './crash-workflow.mjs';

const [kind, target, ledger, runsArg, concurrencyArg, exitAfterArg] = process.argv.slice(2);
const total = Number(runsArg);
const concurrency = Number(concurrencyArg ?? 30);
/** Exit at once (no close, no flush) right after this many results, as a CLI or job runner does; 0: never. */
const exitAfter = Number(exitAfterArg ?? 0);

const agents = ledgerAgents(ledger);

const store = kind === 'postgres' ? postgresStore(target) : sqliteStore(target);
// A stable owner id, as a replica with a fixed name (a pod of a StatefulSet): a restart takes its runs back at once.
const engine = createEngine({
  agents,
  store,
  workflows: [crashWorkflow],
  logger: pino({ level: 'silent' }),
  lease: { owner: 'crash-worker', adopt: false },
});

let results = 0;
/** Each result is reported, and the process may exit right after it: the store must already say so. */
const watch = (run) =>
  run.result.then(
    () => {
      process.stdout.write(`RESULT ${run.id} ${Date.now()}\n`);
      if (exitAfter > 0 && ++results >= exitAfter) process.exit(0);
    },
    () => {},
  );

for (const run of await engine.recover()) watch(run);
const known = new Set((await engine.list({ limit: total * 2 })).map((r) => r.id));
let next = 0;
const startMore = () => {
  while (engine.active.size < concurrency && next < total) {
    const id = `run-${next}`;
    const input = inputOf(next);
    next++;
    if (known.has(id)) continue;
    watch(engine.start(crashWorkflow, input, { id }));
  }
};
startMore();
for (;;) {
  await new Promise((r) => setTimeout(r, 10));
  startMore();
  if (next >= total && engine.active.size === 0) break;
}
await engine.close();
process.stdout.write('ALL DONE\n');
