import { describe, expect, it } from 'vitest';
import { templates } from '../../machines/index.js';
import { toMermaid } from '../../src/cli/mermaid.js';
import { workflow } from '../../src/index.js';

describe('toMermaid', () => {
  it('draws steps, parallel regions, a choice, a loop and a map', () => {
    const wf = workflow('shapes')
      .step('fetch', { agent: 'fetcher' })
      .parallel('checks', {
        a: (r) => r.step('left', { agent: 'l' }),
        b: (r) => r.step('right', { agent: 'r' }),
      })
      .branch('gate', [
        { when: 'results.fetch.risky', then: (b) => b.step('review', { agent: 'human-review' }) },
        { otherwise: () => {} },
      ])
      .loop('refine', (b) => b.step('draft', { agent: 'writer' }), {
        until: 'results.draft.ok',
        maxIterations: 3,
      })
      .map('each', { items: 'results.fetch.rows', step: { agent: 'row' }, concurrency: 2 })
      .build();
    expect(toMermaid(wf).split('\n')).toEqual([
      'stateDiagram-v2',
      '  fetch : fetcher',
      '  [*] --> fetch',
      '  state checks {',
      '    left : l',
      '    [*] --> left',
      '    left --> [*]',
      '    --',
      '    right : r',
      '    [*] --> right',
      '    right --> [*]',
      '  }',
      '  fetch --> checks',
      '  state gate <<choice>>',
      '  checks --> gate',
      '  review : human-review',
      '  gate --> review : results.fetch.risky',
      '  state refine {',
      '    draft : writer',
      '    [*] --> draft',
      '    draft --> [*]',
      '  }',
      '  review --> refine',
      '  gate --> refine : otherwise',
      '  refine --> refine : until not results.draft.ok, at most 3',
      '  each : row for each of results.fetch.rows, 2 at a time',
      '  refine --> each : until results.draft.ok',
      '  each --> [*]',
    ]);
  });

  it('draws every template with every step named once as a state', () => {
    for (const template of templates) {
      const text = toMermaid(template.definition);
      expect(text.startsWith('stateDiagram-v2\n')).toBe(true);
      expect(text).toMatch(/--> \[\*\]$/);
      const states = [...text.matchAll(/^\s+(\w+) : /gm)].map((m) => m[1]);
      expect(new Set(states).size).toBe(states.length);
    }
  });
});
