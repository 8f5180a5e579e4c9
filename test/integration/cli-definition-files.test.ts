// `flowstate verify|paths <file.json>` and `run --input <file>` on files a user got wrong: a file that cannot be
// read, is not JSON or is not shaped like a workflow is bad input (exit 2, one line naming the file and where), as a
// missing file always was; a workflow-shaped file whose definition the checks refuse is what verify reports (exit 1).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { inProcessCli } from '../support/cli-in-process.js';

const cli = inProcessCli('definition-files');

const valid = workflow('two').step('a').step('b', { input: 'results.a' }).build().toJSON() as {
  id: string;
  steps: Array<Record<string, unknown>>;
};

/** Writes a scratch file and returns its path. */
function file(name: string, text: string): string {
  const path = join(cli.dir(), name);
  writeFileSync(path, text);
  return path;
}

/** A bad-input answer: exit 2, nothing on stdout, one line on stderr with no stack frame in it. */
function expectInputError(ran: { code: number; stdout: string; stderr: string }, line: string) {
  expect(ran, ran.stderr).toMatchObject({ code: 2, stdout: '' });
  expect(ran.stderr.split('\n')).toEqual([line]);
}

describe.each(['verify', 'paths'])('flowstate %s <file.json>', (command) => {
  it('exits 2 naming the file and the line and column where a file that is not JSON stops parsing', async () => {
    const path = file('truncated.json', '{\n  "id": "two",\n  "steps": [\n');
    expectInputError(
      await cli.flowstate(command, path),
      `flowstate: '${path}' is not valid JSON: Unexpected end of JSON input at line 4, column 1`,
    );
    const comma = file('comma.json', '{\n  "id": "two",\n}');
    expectInputError(
      await cli.flowstate(command, comma),
      `flowstate: '${comma}' is not valid JSON: Expected double-quoted property name at line 3, column 1`,
    );
    // V8 gives no offset for an unexpected token (`two` fails at its `w`, read as the start of `true`): the place is
    // found all the same.
    const token = file('token.json', '{\n  "id": two\n}');
    expectInputError(
      await cli.flowstate(command, token),
      `flowstate: '${token}' is not valid JSON: Unexpected token 'w' at line 2, column 10`,
    );
  });

  it('exits 2 with the zod issue path for JSON that is not shaped like a workflow', async () => {
    const shape = file('shape.json', JSON.stringify({ id: 'two', steps: 5 }));
    expectInputError(
      await cli.flowstate(command, shape),
      `flowstate: '${shape}' is not a workflow definition: steps: Invalid input: expected array, received number`,
    );
    const typo = file('typo.json', JSON.stringify({ ...valid, steps: [{ ...valid.steps[0], retyr: 3 }] }));
    expectInputError(
      await cli.flowstate(command, typo),
      `flowstate: '${typo}' is not a workflow definition: steps[0].retyr: Unknown key 'retyr'`,
    );
    const list = file('list.json', '[1, 2]');
    expectInputError(
      await cli.flowstate(command, list),
      `flowstate: '${list}' is not a workflow definition: Invalid input: expected object, received array`,
    );
  });

  it('exits 2 for a file that cannot be read, as before, now saying why', async () => {
    const missing = join(cli.dir(), 'missing.json');
    expectInputError(
      await cli.flowstate(command, missing),
      `flowstate: cannot read '${missing}': no such file`,
    );
    const folder = join(cli.dir(), 'folder.json');
    mkdirSync(folder, { recursive: true });
    expectInputError(
      await cli.flowstate(command, folder),
      `flowstate: cannot read '${folder}': it is a directory`,
    );
  });

  it('reads a valid file (a byte-order mark included), and reports a definition the checks refuse with exit 1', async () => {
    const ok = file('ok.json', `\uFEFF${JSON.stringify(valid)}`);
    expect((await cli.flowstate(command, ok)).code).toBe(0);
    const broken = file(
      'broken.json',
      JSON.stringify({ ...valid, steps: [valid.steps[0], { ...valid.steps[1], input: 'results.nope' }] }),
    );
    const ran = await cli.flowstate(command, broken);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain("steps[1].input: 'results.nope' reads the result of 'nope'");
    expect(ran.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('flowstate run --input <file>', () => {
  it('exits 2 naming the file and where its JSON stops parsing', async () => {
    const path = file('input.json', '{\n  "schema": "public",,\n}');
    const ran = await cli.flowstate('run', 'schema-analysis', '--input', path);
    expect(ran.code).toBe(2);
    expect(ran.stderr.split('\n')).toEqual([
      `flowstate: --input: '${path}' is not valid JSON: Expected double-quoted property name at line 2, column 22. Run 'flowstate --help' for usage.`,
    ]);
  });
});
