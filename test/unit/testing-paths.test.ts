import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigurationError, workflow } from '../../src/index.js';
import { workflowPaths } from '../../src/testing/index.js';
import { catalog, guarded, refine, review, saga } from '../support/workflows.js';

const names = (paths: ReturnType<typeof workflowPaths>) => paths.map((p) => p.name);

describe('workflowPaths', () => {
  it('names paths readably from outcomes and the decisions the machine took', () => {
    const paths = workflowPaths(review);
    expect(names(paths)).toContain('scan done (critical) -> triage: when0 -> review done -> publish done');
    expect(names(paths)).toContain(
      'scan done (not critical) -> triage: otherwise -> report done -> publish done',
    );
    expect(names(paths)).toContain(
      'scan done (critical) -> triage: when0 -> review escalated: deadline -> failed',
    );
    expect(new Set(names(paths)).size).toBe(paths.length);
  });

  it('returns plain JSON: every path survives a JSON round trip unchanged', () => {
    for (const { definition, options } of catalog) {
      const paths = workflowPaths(definition, options);
      expect(JSON.parse(JSON.stringify(paths))).toEqual(paths);
    }
  });

  it('covers every modelled outcome of a step: success, retry, error, timeout, each escalation decision', () => {
    const steps = workflowPaths(review).flatMap((p) => p.steps);
    const of = (step: string) => new Set(steps.filter((s) => s.step === step).map((s) => s.label));
    expect(of('scan')).toEqual(
      new Set([
        'scan done (critical)',
        'scan done (not critical)',
        'scan retried',
        'scan error',
        'scan timeout',
      ]),
    );
    expect(of('review')).toEqual(
      new Set([
        'review done',
        'review escalated: retry',
        'review escalated: skip',
        'review escalated: abort',
        'review escalated: deadline',
      ]),
    );
  });

  it('models compensation, fallbacks, supervisors, child workflows and parallel regions', () => {
    const labels = new Set(workflowPaths(saga).flatMap((p) => p.steps.map((s) => s.label)));
    for (const label of [
      'book compensated',
      'book compensation error',
      'pay error',
      'confirm escalated: skip',
    ])
      expect(labels).toContain(label);
    const ends = new Set(workflowPaths(saga).map((p) => p.end.status));
    // A compensation that fails ends the run `failed`: `compensated` says every change was undone.
    expect(ends).toEqual(new Set(['done', 'compensated', 'failed']));
  });

  it('records the state after each step and the end: status, output, or the error code and step', () => {
    const path = workflowPaths(review).find((p) => p.name === 'scan timeout -> failed');
    expect(path?.steps[0]).toMatchObject({ step: 'scan', outcome: { kind: 'timeout' }, state: '__failed' });
    expect(path?.end).toEqual({
      status: 'failed',
      state: '__failed',
      error: { code: 'STEP_FAILED', stepPath: 'scan' },
    });
    const happy = workflowPaths(review).find((p) => p.end.status === 'done');
    expect(happy?.end.output).toMatchObject({ scan: expect.anything(), publish: {} });
  });

  it('derives sample outputs from the data paths guards read', () => {
    const paths = workflowPaths(refine, { outputs: { approval: [{ by: 'ada' }] } });
    const critiques = paths
      .flatMap((p) => p.steps)
      .filter((s) => s.step === 'critique' && s.outcome.kind === 'done');
    expect(new Set(critiques.map((s) => JSON.stringify(s.event.output)))).toEqual(
      new Set(['{"ok":true}', '{}']),
    );
    expect(names(paths)).toContain(
      'draft done -> critique done (not ok) -> draftLoop: round 2 -> draft done -> critique done (ok) -> approval received',
    );
  });

  it('refuses to leave a state uncovered: function guards need sample outputs', () => {
    expect(() => workflowPaths(guarded, { guards: { isLow: () => false } })).toThrow(ConfigurationError);
    expect(() => workflowPaths(guarded, { guards: { isLow: () => false } })).toThrow(/page.*is on no path/);
    const partial = workflowPaths(guarded, { guards: { isLow: () => false }, allowUncovered: true });
    expect(names(partial).some((n) => n.includes('route: otherwise'))).toBe(true);
  });

  it('reports a waitFor whose sample payload its schema refuses', () => {
    expect(() => workflowPaths(refine)).toThrow(/approval received.*never changes the workflow/);
  });

  it("walks 'simple' paths too: every route without a repeated state, bounded", () => {
    const simple = workflowPaths(review, { strategy: 'simple' });
    const shortest = workflowPaths(review);
    expect(simple.length).toBeGreaterThanOrEqual(shortest.length);
    expect(new Set(names(simple)).size).toBe(simple.length);
    expect(() => workflowPaths(review, { strategy: 'simple', maxPaths: 2 })).toThrow(
      /more than 2 simple paths/,
    );
  });

  it('takes user events instead of the derived outcomes', () => {
    const wf = workflow('two').step('a').step('b').build();
    const paths = workflowPaths(wf, {
      events: [
        { type: 'xstate.done.actor.a', output: 1 },
        { type: 'xstate.done.actor.b', output: 2 },
      ],
    });
    expect(names(paths)).toEqual(['xstate.done.actor.a -> xstate.done.actor.b']);
    expect(paths[0]?.end.output).toEqual({ a: 1, b: 2 });
  });

  it('validates the input against the input schema, and bounds the walk', () => {
    const typed = workflow('typed', { input: z.object({ n: z.number() }) })
      .step('a')
      .build();
    expect(() => workflowPaths(typed)).toThrow(/input schema/);
    expect(workflowPaths(typed, { input: { n: 1 } })[0]?.input).toEqual({ n: 1 });
    expect(() => workflowPaths(review, { limit: 3 })).toThrow(/more than 3 states/);
  });

  it('names the step and outcome when a mapping cannot read a sample output', () => {
    const wf = workflow('mapper')
      .step('a')
      .step('b', { input: (ctx) => (ctx.results.a as { rows: string[] }).rows.map((r) => r) })
      .build();
    expect(() => workflowPaths(wf)).toThrow(/at "a" on 'a done'.*outputs/);
    expect(workflowPaths(wf, { outputs: { a: [{ rows: ['x'] }] } }).length).toBeGreaterThan(0);
  });
});
