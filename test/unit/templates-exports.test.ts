import { readFileSync } from 'node:fs';
import * as exported from 'flowstate/templates';
import { describe, expect, it } from 'vitest';

// flowstate/templates: every template importable, and docs/templates.md's table of agent names true to the
// definitions (a renamed agent would make an override by name silently do nothing).

/** The agent names a definition's steps use (and their compensations), from its JSON form. */
function agentNames(definition: unknown): string[] {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if ((k === 'agent' || k === 'compensate') && typeof v === 'string') names.add(v);
        else walk(v);
      }
    }
  };
  walk(JSON.parse(JSON.stringify(definition)));
  return [...names].sort();
}

/** The agent names docs/templates.md lists for each template. */
function documented(): Map<string, string[]> {
  const doc = readFileSync(new URL('../../docs/templates.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Importing templates and overriding agents'));
  const rows = new Map<string, string[]>();
  for (const m of section.matchAll(/^\| ([a-z-]+)\s+\| (.*?) \|/gm)) {
    const names = [...(m[2] ?? '').matchAll(/`([a-z-]+)`/g)].map((n) => n[1] ?? '');
    rows.set(m[1] ?? '', names.sort());
  }
  return rows;
}

describe('flowstate/templates', () => {
  const templates = [
    exported.schemaAnalysisTemplate,
    exported.dataValidationTemplate,
    exported.migrationTemplate,
    exported.queryGenerationTemplate,
    exported.optimizationTemplate,
  ];

  it('exports each template with its definition, agents factory and example input, as the CLI lists them', () => {
    expect(templates.map((t) => t.id)).toEqual(exported.templates.map((t) => t.id));
    for (const t of templates) {
      expect(t.definition.id).toBe(t.id);
      expect(typeof t.agents).toBe('function');
      expect(t.exampleInput).toBeDefined();
      expect(exported.findTemplate(t.id)).toBe(t);
    }
    expect(typeof exported.queryGenerationWorkflow).toBe('function');
    expect(typeof exported.queryGenerationAgents).toBe('function');
  });

  it('docs/templates.md lists exactly the agents each definition uses', () => {
    const docs = documented();
    for (const t of templates)
      expect({ id: t.id, names: docs.get(t.id) }).toEqual({ id: t.id, names: agentNames(t.definition) });
  });

  it('llmAgentsFor fills the templates of LLM_TEMPLATES by names their steps use, and no other', () => {
    const model = {} as Parameters<typeof exported.llmAgentsFor>[1];
    for (const t of templates) {
      const names = Object.keys(exported.llmAgentsFor(t.id, model));
      expect(names.length > 0).toBe(exported.LLM_TEMPLATES.includes(t.id));
      for (const name of names) expect(agentNames(t.definition)).toContain(name);
    }
  });
});
