// The pruner of the prune race test (test/chaos/prune-race.test.ts), in its own process so that its transactions
// contend for the SQLite file's lock with the engine's: it prunes every ended run in batches of 3, as fast as it can,
// until SIGTERM, then prints `PRUNED <runs> <batches> <errors>` and exits. Imports `flowstate/store` as built.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [bundle, file] = process.argv.slice(2);
const { pruneRuns, sqliteStore } = await import(pathToFileURL(join(bundle, 'store.js')).href);
const store = sqliteStore(file);
let stop = false;
process.on('SIGTERM', () => {
  stop = true;
});
let runs = 0;
let batches = 0;
let errors = 0;
console.log('READY');
while (!stop) {
  try {
    // A cut in the future: every ended run whose lease is over goes, as soon as it is.
    const done = await pruneRuns(store, { endedBefore: Date.now() + 60_000, batchSize: 3 });
    runs += done.runs;
    batches += done.batches;
  } catch (error) {
    errors++;
    console.error(String(error));
  }
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
}
await store.close();
console.log(`PRUNED ${runs} ${batches} ${errors}`);
