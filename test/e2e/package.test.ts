import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
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
});
