/**
 * `flowstate run`'s `--model` and `--agents`, checked before anything starts (run in process, as the bin calls
 * `main`). Found by a new user: a mistyped `--model` was said only after PGlite had started (seconds later), and an
 * `--agents` module's misspelled agent was silently ignored (the template's own agent ran instead).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inProcessCli } from '../support/cli-in-process.js';

const cli = inProcessCli('agents-upfront');
const { flowstate } = cli;

const PGLITE_STARTS = 'starting the embedded PostgreSQL';

describe('flowstate run --model, checked before the database opens', () => {
  it.each([
    [
      'nope',
      "--model: Expected a model as <provider>:<model> with provider one of openai-compatible, openai, anthropic, got 'nope'",
    ],
    ['gemini:pro', "got 'gemini:pro'"],
    ['openai-compatible:qwen', "--model: Model 'openai-compatible:qwen' needs a base URL (--model-url)"],
    ['anthropic:claude-x', "--model: Model 'anthropic:claude-x' needs the package @ai-sdk/anthropic"],
  ])('--model %s exits 2 with one line, before PGlite starts', async (model, message) => {
    const ran = await flowstate('run', 'query-generation', '--model', model);
    expect(ran.code).toBe(2);
    expect(ran.stdout).not.toContain(PGLITE_STARTS);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toMatch(/^flowstate: --model: /);
    expect(ran.stderr).toContain(message);
    expect(ran.stderr.split('\n')).toHaveLength(1);
  });
});

describe('flowstate run --agents, refusing an agent the template does not use', () => {
  const KNOWN = 'query-context, query-generator, query-check, query-review, query-report';

  it('a registry with a misspelled agent exits 2 naming it and the valid ones, before PGlite starts', async () => {
    const file = join(cli.dir(), 'typo.mjs');
    writeFileSync(file, "export const agents = { 'query-generatr': () => ({ sql: 'SELECT 1' }) };\n");
    const ran = await flowstate('run', 'query-generation', '--agents', file);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(
      `flowstate: --agents: '${file}' exports agent 'query-generatr', which no step of template 'query-generation' uses (its agents: ${KNOWN}). Run 'flowstate --help' for usage.`,
    );
  });

  it('a function of the database is checked once it has made its registry', async () => {
    const file = join(cli.dir(), 'typo-fn.mjs');
    writeFileSync(
      file,
      "export default (db) => ({ 'query-check': () => ({}), 'generator': () => ({}), x: () => 1 });\n",
    );
    const ran = await flowstate('run', 'query-generation', '--agents', file, '--json');
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain(
      `exports agents 'generator', 'x', which no steps of template 'query-generation' use (its agents: ${KNOWN})`,
    );
    expect(ran.stderr.split('\n')).toHaveLength(1);
  }, 60_000);
});
