// workflowPaths with several inputs: a branch that depends on the workflow input is covered by walking each input
// (no sample output can change the input), and the uncovered-arm error says so.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { workflow } from '../../src/index.js';
import { testWorkflow, workflowPaths } from '../../src/testing/index.js';

const Input = z.object({ urgent: z.boolean(), team: z.string().optional() });

const byFunction = workflow('triage', { input: Input })
  .step('scan')
  .branch('route', [
    { when: (ctx) => ctx.input.urgent, then: (b) => b.step('page') },
    { otherwise: (b) => b.step('ticket') },
  ])
  .build();

const byPath = workflow('triage-path', { input: Input })
  .step('scan')
  .branch('route', [
    { when: 'input.urgent', then: (b) => b.step('page') },
    { otherwise: (b) => b.step('ticket') },
  ])
  .build();

const message = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('did not throw');
};

describe('workflowPaths over several inputs', () => {
  it('says which uncovered arm is decided by a guard reading the input, and to give inputs', () => {
    const fn = message(() => workflowPaths(byFunction, { input: { urgent: false } }));
    expect(fn).toContain("arm 'route.when0' (route.when0) is on no path");
    expect(fn).toContain(
      "the guard of arm 'route.when0' reads the workflow input, which no sample output changes: give inputs that take each arm (workflowPaths(definition, { inputs: [a, b] }))",
    );
    // The other way round: the `otherwise` arm is the one no path takes, decided by the same guard.
    expect(message(() => workflowPaths(byPath, { input: { urgent: true } }))).toContain(
      "guard 'input.urgent' reads the workflow input",
    );
    const registered = workflow('triage-named', { input: Input })
      .step('scan')
      .branch('route', [
        { when: 'isUrgent', then: (b) => b.step('page') },
        { otherwise: (b) => b.step('ticket') },
      ])
      .build();
    const isUrgent = (ctx: { input: { urgent: boolean } }) => ctx.input.urgent;
    expect(
      message(() => workflowPaths(registered, { input: { urgent: false }, guards: { isUrgent } })),
    ).toContain("guard 'isUrgent' reads the workflow input");
  });

  it('does not blame the input when the guard reads only results', () => {
    const wf = workflow('results-only')
      .step('scan')
      .branch('route', [
        { when: (ctx) => ctx.results.scan === 'odd', then: (b) => b.step('page') },
        { otherwise: (b) => b.step('ticket') },
      ])
      .build();
    const text = message(() => workflowPaths(wf));
    expect(text).toContain("arm 'route.when0'");
    expect(text).not.toContain('reads the workflow input');
    expect(text).toContain('Give sample outputs that reach them');
  });

  it('walks each input: every arm covered, names starting with the input, unique, and each path runs', async () => {
    for (const definition of [byFunction, byPath]) {
      const paths = workflowPaths(definition, { inputs: [{ urgent: false }, { urgent: true }] });
      const names = paths.map((p) => p.name);
      expect(names).toEqual([
        'input {"urgent":false}: scan error -> failed',
        'input {"urgent":false}: scan done -> route: otherwise -> ticket done',
        'input {"urgent":false}: scan done -> route: otherwise -> ticket error -> failed',
        'input {"urgent":true}: scan done -> route: when0 -> page done',
        'input {"urgent":true}: scan done -> route: when0 -> page error -> failed',
      ]);
      expect(paths.map((p) => p.input)).toEqual([
        { urgent: false },
        { urgent: false },
        { urgent: false },
        { urgent: true },
        { urgent: true },
      ]);
      for (const t of testWorkflow(definition, { paths })) await t.run();
    }
  });

  it('keeps a later input only for what it adds; long inputs are numbered', () => {
    const same = workflowPaths(byFunction, {
      inputs: [{ urgent: false }, { urgent: false, team: 'db' }, { urgent: true }],
    });
    // The second input takes the same routes as the first: it adds no path.
    expect(same.filter((p) => p.name.includes('"team"'))).toEqual([]);
    expect(same).toHaveLength(5);
    const long = { urgent: true, team: 'the-database-reliability-engineering-team' };
    const numbered = workflowPaths(byFunction, { inputs: [{ urgent: false }, long] });
    expect(numbered.map((p) => p.name.slice(0, 'input 1: '.length))).toEqual([
      'input 1: ',
      'input 1: ',
      'input 1: ',
      'input 2: ',
      'input 2: ',
    ]);
  });

  it('keeps `input` as it was: one input, names without a prefix, the same paths as `inputs: [input]`', () => {
    const one = workflowPaths(byFunction, { input: { urgent: false }, allowUncovered: true });
    expect(one.map((p) => p.name)).toEqual([
      'scan error -> failed',
      'scan done -> route: otherwise -> ticket done',
      'scan done -> route: otherwise -> ticket error -> failed',
    ]);
    expect(workflowPaths(byFunction, { inputs: [{ urgent: false }], allowUncovered: true })).toEqual(one);
  });

  it('refuses `input` with `inputs`, an empty `inputs`, and names the input its schema refuses', () => {
    expect(
      message(() => workflowPaths(byFunction, { input: { urgent: true }, inputs: [{ urgent: false }] })),
    ).toContain('give `input` or `inputs`, not both');
    expect(message(() => workflowPaths(byFunction, { inputs: [] }))).toContain('`inputs` is empty');
    expect(
      message(() => workflowPaths(byFunction, { inputs: [{ urgent: true }, { urgent: 'yes' }] })),
    ).toContain("Input 2 of `inputs` does not match workflow 'triage''s input schema");
  });
});
