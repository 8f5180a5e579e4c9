// The engine process of the web view's browser test: owns the runs on a SQLite store; the page's signals reach it
// through the store's inbox. A step waits for its go-file (`<dir>/go-<step>`), so the test moves the run.
// argv: <SQLite file or postgres:// URL> <dir> <run ids, comma-separated>. stdout: READY | END <step> <epoch ms> | RESULT <id> <json>.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { order } from './serve-workflows.mjs';

const { createEngine, postgresStore, sqliteStore } = await import(`${process.env.FLOWSTATE_BUNDLE}/index.js`);
const [file, dir, ids] = process.argv.slice(2);
const gate = (step) => async () => {
  while (!existsSync(join(dir, `go-${step}`))) await new Promise((r) => setTimeout(r, 5));
  return step;
};
let flaky = 0;
const agents = {
  fetch: async (_input, ctx) => {
    await gate('fetch')();
    if (flaky++ === 0) throw new Error('upstream flaked');
    console.log(`END fetch ${Date.now()} ${ctx.attempt}`);
    return { rows: 3 };
  },
  lint: async () => 'clean',
  explain: async () => 'index scan',
  review: async () => {
    throw new Error('needs a human');
  },
  ship: async (decision) => `shipped ${JSON.stringify(decision)}`,
};
const engine = createEngine({
  agents,
  workflows: [order],
  store: file.startsWith('postgres') ? postgresStore(file) : sqliteStore(file),
  inbox: { pollMs: 20 },
  lease: { owner: 'engine-process' },
  logger: pino({ level: 'silent' }),
});
for (const id of ids.split(','))
  engine.start(order, {}, { id }).result.then(
    (out) => console.log(`RESULT ${id} ${JSON.stringify(out)}`),
    (error) => console.log(`RESULT ${id} ${JSON.stringify({ error: error.code })}`),
  );
console.log('READY');
process.on('SIGTERM', async () => {
  await engine.close();
  process.exit(0);
});
