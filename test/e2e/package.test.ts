import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, root } from '../support/cli.js';

/** The package as an app sees it: `node_modules/flowstate` with its package.json and its built `dist`. */
let app: string;
const out = join(root, 'node_modules/.cache/flowstate-package-test');
beforeAll(() => {
  buildPackage(out);
  app = mkdtempSync(join(tmpdir(), 'flowstate-app-'));
  const pkg = join(app, 'node_modules/flowstate');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(dirname(join(out, 'bundle')), join(pkg, 'dist'));
}, 120_000);
afterAll(() => rmSync(app, { recursive: true, force: true }));

const node = (code: string, type: 'commonjs' | 'module') =>
  execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: app, encoding: 'utf8' }).trim();

const RUN = `
  const wf = workflow('pkg').step('hello').build();
  const run = createEngine({ agents: { hello: async () => 'hi' } }).start(wf, {});
  run.result.then((out) => console.log(JSON.stringify(out)));`;

describe('the package as installed', () => {
  it('works with require() (Node 20.19+ loads the ES module bundle through the default condition)', () => {
    expect(node(`const { createEngine, workflow } = require('flowstate');${RUN}`, 'commonjs')).toBe(
      '{"hello":"hi"}',
    );
    expect(node("console.log(typeof require('flowstate/testing').workflowPaths)", 'commonjs')).toBe(
      'function',
    );
  });

  it('works with import', () => {
    expect(node(`import { createEngine, workflow } from 'flowstate';${RUN}`, 'module')).toBe(
      '{"hello":"hi"}',
    );
  });

  it('never loads pino with logger: false, and agents still get a logger to call', () => {
    const loadsPino = (options: string) =>
      node(
        `import { createRequire } from 'node:module';
        import { createEngine, workflow } from 'flowstate';
        const hello = async (_input, ctx) => { ctx.logger.child({ part: 1 }).info('hi'); return ctx.logger.level; };
        const wf = workflow('pkg').step('hello').build();
        const out = await createEngine({ agents: { hello }${options} }).start(wf, {}).result;
        const pino = Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/pino/'));
        console.log(JSON.stringify([out, pino]));`,
        'module',
      );
    expect(JSON.parse(loadsPino(', logger: false'))).toEqual([{ hello: 'silent' }, false]);
    // The check sees pino when the default logger loads it.
    expect(JSON.parse(loadsPino(''))).toEqual([{ hello: process.env.FLOWSTATE_LOG_LEVEL ?? 'warn' }, true]);
  });

  it('reads the JSON form from flowstate/json (the root does not export it: it loads zod)', () => {
    const code = `import * as root from 'flowstate';
      import { fromJSON, WorkflowJSONSchema } from 'flowstate/json';
      const json = { id: 'j', steps: [{ kind: 'step', name: 's', agent: 's' }] };
      console.log(JSON.stringify([
        'fromJSON' in root,
        'WorkflowJSONSchema' in root,
        WorkflowJSONSchema.safeParse(json).success,
        fromJSON(json).toJSON(),
      ]));`;
    expect(JSON.parse(node(code, 'module'))).toEqual([
      false,
      false,
      true,
      { id: 'j', steps: [{ kind: 'step', name: 's', agent: 's' }] },
    ]);
  });
});

describe('the package types as shipped', () => {
  // Found by a new user: `flowstate/templates` pointed at types the package's `files` left out.
  it('include the types file of every export (what npm pack would publish)', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: root,
        encoding: 'utf8',
      }),
    ) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(packed[0]?.files.map((f) => f.path));
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { types?: string; import?: string }>;
    };
    for (const [name, entry] of Object.entries(manifest.exports)) {
      for (const path of [entry.types, entry.import])
        if (path) expect(files.has(path.replace(/^\.\//, '')), `${name}: ${path}`).toBe(true);
    }
  });

  it('compile the docs examples, strict, with no cast: typed results and no stripped (@internal) name needed', () => {
    const src = join(app, 'src');
    mkdirSync(src, { recursive: true });
    const examples = readdirSync(join(root, 'docs/examples')).filter((f) => f.endsWith('.ts'));
    expect(examples.length).toBeGreaterThan(0);
    for (const file of examples) copyFileSync(join(root, 'docs/examples', file), join(src, file));
    // What the examples import besides flowstate, as the app would have installed it.
    for (const dep of ['zod', 'xstate', '@types'])
      symlinkSync(join(root, 'node_modules', dep), join(app, 'node_modules', dep), 'dir');
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          types: ['node'],
        },
        include: ['src'],
      }),
    );
    writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = (() => {
      try {
        return execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' });
      } catch (error) {
        return (error as { stdout?: string }).stdout ?? String(error);
      }
    })();
    expect(result).toBe('');
    // Plumbing marked @internal is not in the shipped types (tsconfig.build.json: stripInternal).
    const builderTypes = readFileSync(join(out, 'src/dsl/builder.d.ts'), 'utf8');
    expect(builderTypes).toContain('class SequenceBuilder');
    expect(builderTypes).not.toContain('problems: DefinitionProblem');
  }, 120_000);
});
