import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runPathsCommand } from '../../src/cli/paths-command.js';
import { runVerifyCommand } from '../../src/cli/verify-command.js';
import { type AnyWorkflowDefinition, workflow } from '../../src/index.js';
import { fanout, review } from '../support/workflows.js';

const dir = mkdtempSync(join(tmpdir(), 'flowstate-cli-'));
const file = (name: string, definition: AnyWorkflowDefinition | string) => {
  const path = join(dir, name);
  writeFileSync(path, typeof definition === 'string' ? definition : JSON.stringify(definition.toJSON()));
  return path;
};

async function cli(command: typeof runPathsCommand, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await command(
    args,
    { out: (l) => out.push(l), err: (l) => err.push(l) },
    {
      templates: [{ id: 'fanout', definition: fanout, exampleInput: { tables: ['a', 'b'] } }],
    },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('flowstate paths', () => {
  it('lists the paths of a workflow file, numbered, or prints them as JSON', async () => {
    const path = file('review.workflow.json', review);
    const listed = await cli(runPathsCommand, path);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^review: 13 paths \(shortest\)\n {3}1\. /);
    expect(listed.out).toContain(
      'scan done (critical) -> triage: when results.scan.critical -> review done -> publish done -> done',
    );
    const json = await cli(runPathsCommand, path, '--json', '--strategy', 'simple');
    expect(JSON.parse(json.out)).toEqual(
      expect.arrayContaining([expect.objectContaining({ workflow: 'review' })]),
    );
  });

  it('takes a template by name, from its example input unless --input says otherwise', async () => {
    expect((await cli(runPathsCommand, 'fanout')).out).toContain('check[1] done');
    const one = await cli(runPathsCommand, 'fanout', '--input', '{"tables":["only"]}');
    expect(one.out).not.toContain('check[1]');
  });

  it('exits 1 when the paths leave a state uncovered, with the fix', async () => {
    const wf = workflow('approve')
      .waitFor('approval', { event: 'ok', schema: z.object({ by: z.string() }), timeoutMs: 1_000 })
      .build();
    const path = file('approve.workflow.json', wf);
    const ran = await cli(runPathsCommand, path);
    expect(ran.code).toBe(1);
    expect(ran.err).toContain("approval received' never changes the workflow");
    expect((await cli(runPathsCommand, path, '--outputs', '{"approval":[{"by":"ada"}]}')).code).toBe(0);
  });

  it('exits 2 on usage mistakes, with one line', async () => {
    for (const args of [
      [],
      ['nope'],
      ['a.json', 'b'],
      ['x', '--strategy', 'longest'],
      ['x', '--input', '{'],
      ['x', '--what'],
    ]) {
      const ran = await cli(runPathsCommand, ...args);
      expect(ran.code, args.join(' ')).toBe(2);
      expect(ran.err.split('\n')).toHaveLength(1);
    }
    expect((await cli(runPathsCommand, join(dir, 'missing.json'))).err).toContain('cannot read');
  });
});

describe('flowstate verify', () => {
  it('says a workflow verifies, with its warnings, and exits 0', async () => {
    const ran = await cli(runVerifyCommand, file('fanout.workflow.json', fanout));
    expect(ran.code).toBe(0);
    expect(ran.out).toMatch(/^fanout: verified \(0 errors, \d+ warnings?; \d+ states checked\)/);
  });

  it('prints the report as JSON, and exits 1 for a definition that does not load', async () => {
    const ran = await cli(runVerifyCommand, 'fanout', '--json');
    expect(JSON.parse(ran.out)).toMatchObject({ workflow: 'fanout', ok: true });
    const bad = await cli(runVerifyCommand, file('bad.workflow.json', '{"id":"bad","steps":[]}'));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('DEFINITION_INVALID');
  });
});
