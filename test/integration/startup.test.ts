import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackage } from '../support/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// In the repository's cache directory, so that the scripts there resolve the package's dependencies.
const out = join(root, 'node_modules/.cache/flowstate-startup-test');

/**
 * Optional heavy parts, which a run of a plain workflow must not load: the inspector, the terminal's live frame,
 * the ReDoS checker of JSON patterns, the database drivers, zod (the JSON form's reader on `flowstate/json` loads
 * it; users' schemas are their own zod objects) and rxjs (on the first stream).
 */
const HEAVY = [
  'log-update',
  '@statelyai/inspect',
  'ws',
  'partysocket',
  'superjson',
  'recheck',
  'pg',
  'better-sqlite3',
  '@electric-sql/pglite',
  'zod',
  'rxjs',
];

/** What the progress stream and the JSON form may load, and only they. */
const ON_DEMAND = new Set(['zod', 'rxjs']);

/** The heavy packages among loaded files (file paths or URLs). */
const heavyIn = (files: readonly string[]) =>
  [...new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]))].filter(
    (name): name is string => name !== undefined && HEAVY.includes(name),
  );

// Every ESM module loaded, written down synchronously before it is evaluated (so before any later mark); CommonJS
// files loaded by `require` are read from the require cache instead.
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.FLOWSTATE_LOAD_LOG, url + '\\n');
  return next(url, context);
}
`;

const script = (index: string, json: string) => `import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
const mark = (label) =>
  appendFileSync(process.env.FLOWSTATE_LOAD_LOG, 'MARK ' + JSON.stringify({ label, cjs: Object.keys(cache) }) + '\\n');
const flowstate = await import(${JSON.stringify(index)});
const { createEngine, workflow } = flowstate;
const engine = createEngine({ agents: { noop: async () => null } });
const output = await engine.start(workflow('first').step('s0', { agent: 'noop' }).build(), {}).result;
mark('ran');
const run = engine.start(workflow('second').step('s0', { agent: 'noop' }).build(), {});
const { Observable } = await import('rxjs');
const progress = run.progress$;
const percents = [];
progress.subscribe((p) => percents.push(p.percent));
await run.result;
mark('streamed');
const { fromJSON, WorkflowJSONSchema } = await import(${JSON.stringify(json)});
const json = { id: 'j', steps: [{ kind: 'step', name: 's', agent: 's' }] };
const parsed = WorkflowJSONSchema.safeParse(json).success;
const roundTrip = JSON.stringify(fromJSON(json).toJSON()) === JSON.stringify(json);
mark('end');
console.log(JSON.stringify({
  output,
  observable: progress instanceof Observable,
  percents,
  parsed,
  roundTrip,
}));
`;

describe('importing the built package', () => {
  let index = '';
  beforeAll(() => {
    // A private build (no race with dist/ or other test files), as the inspector test does.
    // Built as shipped: tsc, then the bundle the package's exports point at.
    index = join(buildPackage(out), 'index.js');
    expect(index).not.toBe('');
  }, 120_000);

  it('runs a workflow without loading zod, rxjs, the inspector, log-update, recheck or a database driver; streams with rxjs; reads JSON with zod', async () => {
    const dir = join(out, 'startup');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const log = join(dir, 'loaded.log');
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
    );
    writeFileSync(
      join(dir, 'run.mjs'),
      script(pathToFileURL(index).href, pathToFileURL(join(dirname(index), 'json.js')).href),
    );
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'run.mjs')],
        { timeout: 20_000, env: { ...process.env, FLOWSTATE_LOG_LEVEL: 'silent', FLOWSTATE_LOAD_LOG: log } },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(JSON.parse(stdout)).toEqual({
      output: { s0: null },
      observable: true,
      percents: expect.arrayContaining([100]),
      parsed: true,
      roundTrip: true,
    });
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    const marks = lines.flatMap((line, at) =>
      line.startsWith('MARK ')
        ? [{ at, ...(JSON.parse(line.slice(5)) as { label: string; cjs: string[] }) }]
        : [],
    );
    const [ran, streamed, end] = marks;
    expect(marks.map((m) => m.label)).toEqual(['ran', 'streamed', 'end']);
    const esmBefore = lines.slice(0, ran?.at);
    expect(esmBefore.some((url) => url.endsWith('/bundle/index.js'))).toBe(true);
    expect(heavyIn([...esmBefore, ...(ran?.cjs ?? [])])).toEqual([]);
    // The progress stream loads rxjs (and nothing else of the list); the JSON form zod (a document without
    // patterns: no recheck).
    expect(heavyIn([...lines.slice(0, streamed?.at), ...(streamed?.cjs ?? [])])).toEqual(['rxjs']);
    const loaded = heavyIn([...lines.slice(0, end?.at), ...(end?.cjs ?? [])]);
    expect(loaded.filter((name) => !ON_DEMAND.has(name))).toEqual([]);
    expect(loaded.sort()).toEqual(['rxjs', 'zod']);
  });
});
