import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import {
  type AnyWorkflowDefinition,
  createEngine,
  verify,
  WorkflowDefinitionError,
  WorkflowVerificationError,
  workflow,
} from '../../src/index.js';
import { workflowPaths } from '../../src/testing/index.js';
import { silent } from '../support/engine.js';
import { catalog } from '../support/workflows.js';

const errors = (definition: AnyWorkflowDefinition) =>
  verify(definition).problems.filter((p) => p.severity === 'error');

/**
 * A branch arm that never reaches its end: its loop's `until` reads a step of the other arm, which never runs on
 * this one. (A step that does not exist at all is refused by `build()`.)
 */
const broken = workflow('broken')
  .step('scan', { timeoutMs: 1_000 })
  .branch('triage', [
    {
      when: 'results.scan.critical',
      then: (b) =>
        b.loop('fix', (x) => x.step('patch', { timeoutMs: 1_000 }), {
          until: 'results.report.ok',
          maxIterations: 3,
          onMaxIterations: 'fail',
        }),
    },
    { otherwise: (b) => b.step('report', { timeoutMs: 1_000 }) },
  ])
  .build();

describe('verify', () => {
  it('verifies every catalog workflow (every node kind): no errors', () => {
    for (const { definition } of catalog) expect(errors(definition), definition.id).toEqual([]);
  });

  it('agrees with the paths: every state a path visits is one verify finds reachable', () => {
    for (const { definition, options } of catalog) {
      const report = verify(definition);
      expect(report.problems.filter((p) => p.code === 'unreachable-state')).toEqual([]);
      expect(workflowPaths(definition, options).length).toBeGreaterThan(0);
    }
  });

  it('catches a branch arm that never reaches its end, with its path, state and a route that shows it', () => {
    const report = verify(broken);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        code: 'cannot-finish',
        severity: 'error',
        path: ['steps', 1, 'arms', 0, 'steps', 0],
        state: 'triage.when0.fix',
        message:
          "loop 'fix' never finishes: every route through it fails (so arm 'triage.when0' never finishes either)",
        route:
          'scan done (critical) -> triage: when0 -> patch done -> fix: rounds 2-3 the same -> fix: exhausted -> failed',
      }),
    );
    expect(report.problems.filter((p) => p.severity === 'error')).toHaveLength(1);
  });

  it('finds arms that can never run: shadowed by an earlier arm, or reading a result produced later', () => {
    const shadowed = workflow('shadowed')
      .step('scan')
      .branch('b', [
        { when: 'results.scan.bad', then: (x) => x.step('one') },
        { when: 'results.scan.bad.really', then: (x) => x.step('two') },
        { otherwise: (x) => x },
      ])
      .build();
    expect(errors(shadowed)).toEqual([
      expect.objectContaining({
        code: 'unreachable-state',
        state: 'b.when1',
        path: ['steps', 1, 'arms', 1],
      }),
    ]);
    const early = workflow('early')
      .branch('b', [{ when: 'results.later.ok', then: (x) => x.step('one') }, { otherwise: (x) => x }])
      .step('later')
      .build();
    expect(errors(early).map((p) => p.state)).toEqual(['b.when0']);
  });

  it('treats function and named guards as able to go either way', () => {
    const wf = workflow('opaque')
      .step('a')
      .branch('b', [
        { when: () => false, then: (x) => x.step('one') },
        { when: 'registered', then: (x) => x.step('two') },
        { otherwise: (x) => x },
      ])
      .loop('l', (x) => x.step('c'), { until: () => false, maxIterations: 3, onMaxIterations: 'fail' })
      .build();
    expect(errors(wf)).toEqual([]);
  });

  it('finds a parallel that never succeeds when a region always fails and one that cannot finish', () => {
    const wf = workflow('regions')
      .parallel(
        'p',
        {
          ok: (r) => r.step('a'),
          stuck: (r) =>
            r.loop('l', (x) => x.step('b'), {
              until: 'results.a.ok',
              maxIterations: 2,
              onMaxIterations: 'fail',
            }),
        },
        { failFast: false },
      )
      .build();
    const found = errors(wf).find((p) => p.code === 'cannot-finish');
    expect(found).toMatchObject({ state: 'p.stuck.l', path: ['steps', 0, 'regions', 'stuck', 0] });
    expect(found?.message).toContain("(so parallel 'p', the workflow never finish either)");
    expect(found?.route).toContain('l: exhausted');
  });

  it('reports the workflow itself when no route ends done', () => {
    const wf = workflow('doomed')
      .loop('l', (x) => x.step('a'), { until: 'results.b.done', maxIterations: 2, onMaxIterations: 'fail' })
      .step('b')
      .build();
    const found = errors(wf).find((p) => p.code === 'cannot-finish');
    expect(found?.message).toContain('the workflow never finishes either');
    // A result the loop reads is produced by a step after it: the guard cannot hold yet, whatever the agents say.
    expect(errors(wf).map((p) => p.code)).toContain('unreachable-state');
  });

  it('reports deadlines that wait forever in practice, missing timeouts and unbounded supervisors', () => {
    const year = 400 * 86_400_000;
    const wf = workflow('slow')
      .waitFor('approval', { event: 'ok', timeoutMs: year })
      .step('review', { escalate: { to: 'human', timeoutMs: year } })
      .step('auto', { escalate: { to: 'boss', timeoutMs: 1_000 }, timeoutMs: 1_000 })
      .build();
    const report = verify(wf);
    const codes = report.problems.map((p) => `${p.severity} ${p.code} ${p.state}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        'error no-deadline approval',
        'error no-deadline review',
        'warning no-timeout review',
      ]),
    );
    // A supervisor gets at most 10 rounds within one deadline: its retries are bounded, nothing to warn about.
    expect(codes.filter((c) => c.includes('unbounded-retry'))).toEqual([]);
    expect(verify(wf, { maxDeadlineMs: year }).ok).toBe(true);
  });

  it('checks the compiled machine: error routes, branch defaults, loop bounds', () => {
    const machine = createMachine({
      id: 'edited',
      initial: 'running',
      states: {
        running: {
          initial: 'scan',
          states: {
            scan: { invoke: { id: 'scan', src: 'flowstate.step', onDone: 'b' } },
            b: {
              initial: '__decide',
              states: { __decide: { always: [{ guard: 'g', target: 'x' }] }, x: {} },
            },
            l: {
              meta: { flowstate: { kind: 'loop', name: 'l' } },
              initial: 'check',
              states: { check: { always: [{ target: 'check' }] } },
            },
          },
        },
      },
    });
    const edited = { ...workflow('edited').step('scan').build(), machine } as AnyWorkflowDefinition;
    const codes = verify(edited).problems.map((p) => `${p.code} ${p.state}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        'no-error-route running.scan',
        'no-default running.b',
        'unbounded-loop running.l',
      ]),
    );
  });

  it('is fast: a definition with dozens of nested nodes verifies in milliseconds', () => {
    let b = workflow('big');
    for (let i = 0; i < 20; i++) {
      b = b
        .step(`s${i}`, { timeoutMs: 1_000 })
        .branch(`b${i}`, [
          { when: `results.s${i}.ok`, then: (x) => x.step(`t${i}`) },
          { otherwise: (x) => x },
        ])
        .parallel(`p${i}`, {
          a: (x) => x.step(`u${i}`),
          c: (x) => x.loop(`l${i}`, (y) => y.step(`v${i}`), { until: () => true, maxIterations: 5 }),
        });
    }
    const started = performance.now();
    expect(verify(b.build()).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('the engine refuses unverified definitions', () => {
  it('throws a WorkflowVerificationError (a WorkflowDefinitionError) listing each problem with its path', () => {
    const engine = createEngine({
      logger: silent,
      agents: { scan: () => ({}), patch: () => ({}), report: () => ({}) },
    });
    const error = (() => {
      try {
        engine.start(broken, {});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(WorkflowVerificationError);
    expect(error).toBeInstanceOf(WorkflowDefinitionError);
    expect(error).toMatchObject({ code: 'DEFINITION_INVALID', report: { ok: false } });
    expect((error as WorkflowDefinitionError).problems.map((p) => p.path)).toContainEqual([
      'steps',
      1,
      'arms',
      0,
      'steps',
      0,
    ]);
    expect((error as Error).message).toContain('route: scan done (critical) -> triage: when0');
  });

  it('starts it when told: createEngine({ verify: false })', async () => {
    const engine = createEngine({
      logger: silent,
      verify: false,
      agents: { scan: () => ({ critical: false }), patch: () => ({}), report: () => 'r' },
    });
    await expect(engine.start(broken, {}).result).resolves.toMatchObject({ report: 'r' });
  });

  it('verifies child workflows when their parent is bound', () => {
    const child = workflow('child')
      .loop('l', (x) => x.step('a'), { until: 'results.b.ok', maxIterations: 2, onMaxIterations: 'fail' })
      .step('b')
      .build();
    const parent = workflow('parent').step('sub', { workflow: child }).build();
    const engine = createEngine({ logger: silent, agents: { a: () => 1, b: () => 1 } });
    expect(() => engine.register(parent)).toThrow(/Workflow 'child'/);
  });
});
