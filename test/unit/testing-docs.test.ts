import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runPathsCommand } from '../../src/cli/paths-command.js';
import { runVerifyCommand } from '../../src/cli/verify-command.js';
import { type AnyWorkflowDefinition, workflow } from '../../src/index.js';
import { testWorkflow, workflowPaths } from '../../src/testing/index.js';

// docs/testing.md is tested as written: its definitions are evaluated from the text, and what it shows is compared.
const doc = readFileSync(new URL('../../docs/testing.md', import.meta.url), 'utf8');
const blocks = (lang: string) =>
  [...doc.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === lang).map((m) => m[2] ?? '');

/** The `const <name> = workflow(...)...build();` of the doc, evaluated with the real builder. */
function definitionIn(name: string): AnyWorkflowDefinition {
  const source = blocks('ts').find((b) => b.includes(`const ${name} = workflow(`)) ?? '';
  const match = new RegExp(`const ${name} = (workflow\\([\\s\\S]*?\\.build\\(\\));`).exec(source);
  if (!match?.[1]) throw new Error(`docs/testing.md defines no '${name}'`);
  return new Function('workflow', 'z', `return ${match[1]};`)(workflow, z) as AnyWorkflowDefinition;
}

describe('docs/testing.md', () => {
  it('lists the paths its quick start makes, and every one of them runs', async () => {
    const review = definitionIn('review');
    const paths = workflowPaths(review);
    expect(paths.map((p) => p.name)).toEqual(blocks('text')[0]?.trim().split('\n'));
    for (const t of testWorkflow(review, { paths })) await t.run();
  });

  it('shows what `flowstate verify` says about its broken definition', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'flowstate-doc-')), 'broken.workflow.json');
    writeFileSync(file, JSON.stringify(definitionIn('broken').toJSON()));
    const lines: string[] = [];
    const code = await runVerifyCommand([file], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines.join('\n')).toBe(
      blocks('text')
        .find((b) => b.startsWith('broken:'))
        ?.trimEnd(),
    );
  });

  it('walks its `triage` from each of its `inputs`, names the paths as shown, and runs them', async () => {
    const triage = definitionIn('triage');
    const paths = workflowPaths(triage, { inputs: [{ urgent: false }, { urgent: true }] });
    const shown = blocks('text').find((b) => b.startsWith('input {'));
    expect(paths.map((p) => p.name)).toEqual(shown?.trim().split('\n'));
    for (const t of testWorkflow(triage, { paths })) await t.run();
  });

  it('shows the error `input` alone gives on its `triage`, as written', () => {
    const shown = blocks('text').find((b) => b.startsWith('[CONFIGURATION_INVALID]'));
    expect(() => workflowPaths(definitionIn('triage'), { input: { urgent: false } })).toThrow(
      shown?.trimEnd(),
    );
  });

  it('runs its `flowstate paths` line on a file of `triage` with a registered guard', async () => {
    const command =
      blocks('sh')
        .find((b) => b.startsWith('flowstate paths triage'))
        ?.trim() ?? '';
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-doc-'));
    // The JSON form names guards: the doc's function guard, registered as `isUrgent` in the module.
    const named = workflow('triage', { input: z.object({ urgent: z.boolean() }) })
      .step('scan')
      .branch('route', [
        { when: 'isUrgent', then: (b) => b.step('page') },
        { otherwise: (b) => b.step('ticket') },
      ])
      .build();
    writeFileSync(join(dir, 'triage.workflow.json'), JSON.stringify(named.toJSON()));
    writeFileSync(join(dir, 'guards.js'), 'export const guards = { isUrgent: (ctx) => ctx.input.urgent };\n');
    const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '').slice(2);
    const at = (file: string) => (file.startsWith('./') || file.endsWith('.json') ? join(dir, file) : file);
    const lines: string[] = [];
    const code = await runPathsCommand(args.map(at), {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    expect(code, lines.join('\n')).toBe(0);
    expect(lines[0]).toBe('triage: 5 paths (shortest)');
    expect(lines).toContain(
      '  5. input {"urgent":true}: scan done -> route: when isUrgent -> page error -> failed',
    );
  });
});
