import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, workflow } from '../../src/index.js';
import {
  PathMismatchError,
  runPath,
  testWorkflow,
  VirtualClock,
  type WorkflowPath,
  workflowPaths,
} from '../../src/testing/index.js';
import { catalog, review } from '../support/workflows.js';

// Every path of every catalog workflow runs for real: one test per path (the templates join when they exist).
const counts: Record<string, number> = {};
for (const { definition, options } of catalog) {
  describe(`every path of '${definition.id}'`, () => {
    const paths = workflowPaths(definition, options);
    counts[definition.id] = paths.length;
    for (const t of testWorkflow(definition, {
      paths,
      ...(options.guards ? { guards: options.guards } : {}),
    }))
      it(t.name, t.run);
  });
}

describe('testWorkflow', () => {
  it('generated a path set for every catalog workflow', () => {
    expect(counts).toEqual({ review: 13, fanout: 10, refine: 9, saga: 12, guarded: 9 });
  });

  it('fails a run that leaves its path, saying where and how', async () => {
    const path = workflowPaths(review).find((p) =>
      p.name.startsWith('scan done (critical) -> triage: when0'),
    ) as WorkflowPath;
    const first = path.steps[0];
    if (!first) throw new Error('no step');
    // The scan's output no longer makes the guard true: the run takes the other arm.
    const tampered = {
      ...path,
      steps: [{ ...first, outcome: { kind: 'done' as const, output: {} } }, ...path.steps.slice(1)],
    };
    const error = await runPath(review, tampered).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PathMismatchError);
    expect((error as PathMismatchError).step).toBe(0);
    expect((error as Error).message).toContain('"otherwise":"report"');
  });

  it('checks the end: status and output', async () => {
    const path = workflowPaths(review).find((p) => p.end.status === 'done') as WorkflowPath;
    await expect(runPath(review, { ...path, end: { ...path.end, output: { other: 1 } } })).rejects.toThrow(
      /at the end/,
    );
  });

  it('refuses paths made from another version of the definition', () => {
    const paths = workflowPaths(review);
    const changed = workflow('review').step('scan').build();
    expect(() => testWorkflow(changed, { paths })).toThrow(ConfigurationError);
  });

  it('runs paths read back from JSON', async () => {
    const paths = JSON.parse(JSON.stringify(workflowPaths(review))) as WorkflowPath[];
    for (const t of testWorkflow(review, { paths })) await t.run();
  });

  it('runs real agents instead of scripts where given (their results must follow the path)', async () => {
    const path = workflowPaths(review).find(
      (p) => p.name === 'scan done (not critical) -> triage: otherwise -> report done -> publish done',
    );
    if (!path) throw new Error('no path');
    const publish = vi.fn(() => ({}));
    await runPath(review, path, { agents: { publish } });
    expect(publish).toHaveBeenCalledTimes(1);
    // A real agent that takes another route fails the path.
    const failing = { publish: () => Promise.reject(new Error('down')) };
    await expect(runPath(review, path, { agents: failing })).rejects.toBeInstanceOf(PathMismatchError);
  });

  describe('under fake timers', () => {
    afterEach(() => vi.useRealTimers());
    it("does not depend on the test's timers: deadlines fire on the path's word only", async () => {
      vi.useFakeTimers();
      const path = workflowPaths(review).find((p) =>
        p.name.includes('review escalated: deadline'),
      ) as WorkflowPath;
      await runPath(review, path);
    });
  });
});

describe('VirtualClock', () => {
  it('fires due timers in order, each at its own time, when moved', async () => {
    const clock = new VirtualClock(100);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 20);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 10);
    const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 15);
    clock.clearTimeout(cancelled);
    expect(clock.pending).toBe(2);
    await clock.advanceTo(115, async () => {});
    expect(fired).toEqual([['a', 110]]);
    await clock.advanceTo(200, async () => {});
    expect(fired).toEqual([
      ['a', 110],
      ['b', 120],
    ]);
    expect(clock.now()).toBe(200);
  });
});
