import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
  return new Function('workflow', `return ${match[1]};`)(workflow) as AnyWorkflowDefinition;
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
    expect(lines.join('\n')).toBe(blocks('text')[1]?.trimEnd());
  });
});
