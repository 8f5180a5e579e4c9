import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { templates } from '../../machines/templates.js';
import {
  type AnyWorkflowDefinition,
  createEngine,
  verify,
  WorkflowVerificationError,
  workflow,
} from '../../src/index.js';
import { fromJSON } from '../../src/json.js';
import { silent } from '../support/engine.js';

/** The data-path problems of a definition, as `code path state`. */
const order = (definition: AnyWorkflowDefinition) =>
  verify(definition)
    .problems.filter((p) => p.severity === 'error')
    .map((p) => `${p.code} ${p.path.join('.')} ${p.state}`);

const t = { timeoutMs: 10 };

describe('verify: data paths that read a result before any step produces it', () => {
  it('refuses a step input naming a later step: verify, engine.start and the JSON form', () => {
    const wf = workflow('w1')
      .step('a', { input: 'results.b', ...t })
      .step('b', t)
      .build();
    const report = verify(wf);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        code: 'unknown-result',
        severity: 'error',
        path: ['steps', 0, 'input'],
        state: 'a',
        message:
          "'results.b' reads the result of 'b', which no step before it produces: step 'b' runs after it",
      }),
    );
    const engine = createEngine({ logger: silent, agents: { a: async () => 1, b: async () => 2 } });
    const error = (() => {
      try {
        engine.start(wf, {});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(WorkflowVerificationError);
    expect((error as Error).message).toContain('steps[0].input');
    expect((error as Error).message).toContain('no step before it produces');
    expect(order(fromJSON(wf.toJSON()))).toEqual(['unknown-result steps.0.input a']);
  });

  it('checks map items and item inputs, a step reading itself, and child-workflow step inputs', () => {
    const child = workflow('child').step('x', t).build();
    const wf = workflow('m')
      .map('fan', { items: 'results.list', step: { agent: 'f', input: 'results.fan', ...t } })
      .step('self', { input: 'results.self.x', ...t })
      .step('sub', { workflow: child, input: 'results.list' })
      .step('list', t)
      .build();
    expect(order(wf)).toEqual([
      'unknown-result steps.0.items fan',
      'unknown-result steps.0.step.input fan',
      'unknown-result steps.1.input self',
      'unknown-result steps.2.input sub',
    ]);
    const self = verify(wf).problems.find((p) => p.path.join('.') === 'steps.1.input');
    expect(self?.message).toContain("it is this step's own result");
  });

  it('treats a sibling parallel region as not before, and the parallel as before what follows it', () => {
    const wf = workflow('p')
      .parallel('par', {
        left: (r) => r.step('l1', t).step('l2', { input: 'results.l1', ...t }),
        right: (r) => r.step('r1', { input: 'results.l2', ...t }),
      })
      .step('after', { input: 'results.r1', ...t })
      .build();
    expect(order(wf)).toEqual(['unknown-result steps.0.regions.right.0.input par.right.r1']);
    const found = verify(wf).problems.find((p) => p.state === 'par.right.r1');
    expect(found?.message).toContain("step 'l2' runs in region 'left' of parallel 'par', beside this one");
  });

  it("treats another arm of the same branch as never before; a step after the branch may read either arm's", () => {
    const wf = workflow('b')
      .step('scan', t)
      .branch('triage', [
        { when: 'results.scan.bad', then: (x) => x.step('fix', t) },
        { otherwise: (x) => x.step('ship', { input: 'results.fix', ...t }) },
      ])
      .step('report', { input: 'results.ship', ...t })
      .build();
    expect(order(wf)).toEqual(['unknown-result steps.1.otherwise.0.input triage.otherwise.ship']);
    const found = verify(wf).problems.find((p) => p.state === 'triage.otherwise.ship');
    expect(found?.message).toContain("step 'fix' is in another arm of branch 'triage'");
  });

  it("lets a loop's body read any result of the body (the round before's), not a step after the loop", () => {
    const wf = workflow('l')
      .step('seed', { input: 'results.critique', ...t })
      .loop(
        'refine',
        (x) =>
          x
            .step('draft', { input: 'results.critique', ...t })
            .loop('inner', (y) => y.step('polish', { input: 'results.critique', ...t }), {
              until: 'results.polish.ok',
              maxIterations: 2,
            })
            .step('critique', { input: 'results.draft', ...t })
            .step('early', { input: 'results.report', ...t }),
        { until: 'results.critique.ok', maxIterations: 3 },
      )
      .step('report', { input: 'results.polish', ...t })
      .build();
    expect(order(wf)).toEqual([
      'unknown-result steps.0.input seed',
      'unknown-result steps.1.steps.3.input refine.round.early',
    ]);
  });

  it("accepts what can have run before: skipped steps' null, waits, the workflow result, input paths, functions", () => {
    const wf = workflow('ok', { input: z.object({ n: z.number() }), result: 'results.last' })
      .step('maybe', { onError: 'skip', ...t })
      .waitFor('approval', { event: 'ok', timeoutMs: 1_000, onTimeout: 'skip' })
      .step('use', { input: 'results.maybe', ...t })
      .step('fromInput', { input: 'input.n', ...t })
      .step('fn', { input: (ctx) => ctx.results.approval, ...t })
      .step('last', { input: 'results.approval', ...t })
      .build();
    expect(order(wf)).toEqual([]);
  });

  it('finds nothing in the templates', () => {
    for (const template of templates) expect(order(template.definition), template.id).toEqual([]);
  });
});
