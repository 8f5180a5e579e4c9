import { describe, expect, it } from 'vitest';
import { WorkflowDefinitionError, workflow } from '../../src/index.js';
import { fromJSON } from '../../src/json.js';

/** Issue 13: definitions that would fail at run time are refused by build(), with the path of the mistake. */

const problemsOf = (build: () => unknown) => {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowDefinitionError);
    return (error as WorkflowDefinitionError).problems.map((p) => ({ code: p.code, path: p.path.join('.') }));
  }
  throw new Error('expected build() to throw');
};

describe('retryOn', () => {
  it('refuses a function at build(), naming its path', () => {
    const build = () =>
      workflow('w')
        .step('a', { retry: { attempts: 3, retryOn: ((e: { code?: string }) => e.code === 'E') as never } })
        .build();
    expect(problemsOf(build)).toEqual([{ code: 'invalid-retry-on', path: 'steps.0.retry.retryOn' }]);
    expect(build).toThrow(/retryOn.*function cannot be persisted/s);
  });

  it("refuses a map step's function and a list of non-strings", () => {
    expect(
      problemsOf(() =>
        workflow('w')
          .map('m', {
            items: 'input.list',
            step: { agent: 'a', retry: { attempts: 2, retryOn: (() => true) as never } },
          })
          .step('b', { retry: { attempts: 2, retryOn: [42] as never } })
          .build(),
      ),
    ).toEqual([
      { code: 'invalid-retry-on', path: 'steps.0.step.retry.retryOn' },
      { code: 'invalid-retry-on', path: 'steps.1.retry.retryOn' },
    ]);
  });

  it('accepts a list of codes and names', () => {
    const wf = workflow('w')
      .step('a', { retry: { attempts: 2, retryOn: ['ETIMEDOUT', 'RateLimitError'] } })
      .build();
    expect(fromJSON(wf.toJSON()).version).toBe(wf.version);
  });
});

describe('data paths on results', () => {
  it('refuses a path that names no step (a typo)', () => {
    const build = () => workflow('w').step('lookup').step('use', { input: 'results.lokup' }).build();
    expect(problemsOf(build)).toEqual([{ code: 'unknown-result', path: 'steps.1.input' }]);
    expect(build).toThrow(
      /'results\.lokup' reads the result of 'lokup', but no step, map or waitFor has that name \(known: lookup, use\)/,
    );
  });

  it('checks guards, map items and inputs, and the workflow result', () => {
    expect(
      problemsOf(() =>
        workflow('w', { result: 'results.nothing' })
          .step('scan')
          .branch('b', [{ when: 'results.scna.bad', then: (x) => x.step('fix') }, { otherwise: (x) => x }])
          .loop('l', (x) => x.step('patch'), { until: 'results.pach.ok', maxIterations: 2 })
          .map('m', { items: 'results.scan.list', step: { agent: 'check', input: 'results.chek' } })
          .build(),
      ),
    ).toEqual([
      { code: 'unknown-result', path: 'steps.1.arms.0.when' },
      { code: 'unknown-result', path: 'steps.2.until' },
      { code: 'unknown-result', path: 'steps.3.step.input' },
      { code: 'unknown-result', path: 'result' },
    ]);
  });

  it('refuses the name of a parallel step, branch or loop: they have no result', () => {
    const build = () =>
      workflow('w')
        .parallel('p', { one: (r) => r.step('a'), two: (r) => r.step('b') })
        .step('use', { input: 'results.p' })
        .build();
    expect(problemsOf(build)).toEqual([{ code: 'unknown-result', path: 'steps.1.input' }]);
    expect(build).toThrow(/'p', a parallel step, which has no result of its own/);
  });

  it('refuses it in the JSON form too', () => {
    expect(
      problemsOf(() =>
        fromJSON({
          id: 'w',
          steps: [
            { kind: 'step', name: 'a', agent: 'a' },
            { kind: 'step', name: 'b', agent: 'b', input: 'results.x' },
          ],
        }),
      ),
    ).toContainEqual({ code: 'unknown-result', path: 'steps.1.input' });
  });

  it('accepts steps, maps, waits and nested steps, wherever they are, and paths that are not on results', () => {
    const wf = workflow('w', { result: 'results.m' })
      .step('a', { input: 'input.x' })
      .parallel('p', { one: (r) => r.step('inner'), two: (r) => r.step('other', { input: 'results.inner' }) })
      .waitFor('ok', { event: 'ok', timeoutMs: 1_000 })
      .map('m', { items: 'results.a.list', step: { agent: 'c', input: 'results.ok' } })
      .loop('l', (x) => x.step('d', { input: 'results.e' }).step('e'), {
        until: 'results.e.done',
        maxIterations: 2,
      })
      .step('f', { input: 'someRegisteredMapping' })
      .step('g', { input: 'results' })
      .build();
    expect(wf.id).toBe('w');
  });
});
