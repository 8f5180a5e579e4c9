// `flowstate paths <file.json>` on a workflow that names registered guards and mappings (`--guards <module>`),
// that reads its input (`--input` once per input), and the errors that say which option fixes what.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runPathsCommand } from '../../src/cli/paths-command.js';
import { workflow } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'flowstate-paths-guards-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const triage = workflow('triage', { input: z.object({ urgent: z.boolean() }) })
  .step('scan')
  .step('sum', { input: 'allHits' })
  .branch('route', [
    { when: 'isUrgent', then: (b) => b.step('page') },
    { otherwise: (b) => b.step('ticket') },
  ])
  .build();
const wf = file('triage.workflow.json', JSON.stringify(triage.toJSON()));
const guards = file(
  'guards.mjs',
  `export const mappings = { allHits: (ctx) => ctx.results.scan?.hits ?? [] };
export const guards = { isUrgent: (ctx) => ctx.input.urgent === true };`,
);
const asDefault = file(
  'default.mjs',
  'export default { guards: { isUrgent: (ctx) => ctx.input.urgent }, mappings: { allHits: () => [] } };',
);
const onlyGuards = file('only-guards.mjs', 'export const guards = { isUrgent: () => true };');
const nothing = file('nothing.mjs', 'export const x = 1;');

async function paths(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPathsCommand(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('flowstate paths --guards <module>', () => {
  it('without the module, exits 2 naming every registered name and the option', async () => {
    const ran = await paths(wf, '--input', '{"urgent":false}');
    expect(ran.code).toBe(2);
    expect(ran.err).toBe(
      "flowstate: workflow 'triage' names mapping 'allHits' and guard 'isUrgent', registered in code: give them with --guards <module> (a JavaScript module exporting `guards` and `mappings`, as given to createEngine), or use workflowPaths from code with them. Run 'flowstate --help' for usage.",
    );
  });

  it('without --input, exits 2 naming the flag and what the schema wants', async () => {
    const ran = await paths(wf, '--guards', guards);
    expect(ran.code).toBe(2);
    expect(ran.err).toContain(
      "workflow 'triage' takes an input its schema checks (input.urgent: Invalid input: expected boolean, received undefined): give one with --input '<json>'",
    );
    const bad = await paths(wf, '--guards', guards, '--input', '{"urgent":1}');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--input does not match workflow 'triage''s input schema: input.urgent:");
  });

  it('with one input, exits 1: the arm the input decides is uncovered, and the fix is another --input', async () => {
    const ran = await paths(wf, '--guards', guards, '--input', '{"urgent":false}');
    expect(ran.code).toBe(1);
    expect(ran.err).toContain("arm 'route.when0' (route.when0) is on no path");
    expect(ran.err).toContain(
      "guard 'isUrgent' reads the workflow input, which no sample output changes: give inputs that take each arm (--input '<json>' once per input)",
    );
    expect(ran.err).not.toContain('allowUncovered');
  });

  it('walks every --input with the module', async () => {
    for (const module of [guards, asDefault]) {
      const ran = await paths(
        wf,
        '--guards',
        module,
        '--input',
        '{"urgent":false}',
        '--input',
        '{"urgent":true}',
      );
      expect(ran.code, module).toBe(0);
      expect(ran.out).toContain('triage: 6 paths (shortest)');
      expect(ran.out).toContain(
        'input {"urgent":true}: scan done -> sum done -> route: when isUrgent -> page done -> done',
      );
      expect(ran.out).toContain(
        'input {"urgent":false}: scan done -> sum done -> route: otherwise -> ticket done -> done',
      );
    }
  });

  it('refuses a module that misses a name, exports neither, or does not load', async () => {
    const missing = await paths(wf, '--guards', onlyGuards, '--input', '{"urgent":false}');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(
      `--guards: '${onlyGuards}' does not export mapping 'allHits', which workflow 'triage' names`,
    );
    const empty = await paths(wf, '--guards', nothing);
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('exports no `guards` or `mappings` object');
    const absent = await paths(wf, '--guards', join(dir, 'absent.mjs'));
    expect(absent.code).toBe(1);
    expect(absent.err).toContain(`--guards: cannot load '${join(dir, 'absent.mjs')}'`);
  });
});
