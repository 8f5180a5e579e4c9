import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { workflow } from '../../src/index.js';

describe('compiled machines stay traversable', () => {
  it('lets xstate/graph walk every route when step outcomes are supplied as events', () => {
    const wf = workflow('graph')
      .step('scan')
      .branch('triage', [
        { when: 'results.scan.critical', then: (b) => b.step('review') },
        { otherwise: (b) => b.step('report') },
      ])
      .build();
    const paths = getShortestPaths(wf.machine, {
      input: { workflowId: 'g', input: {} },
      events: [
        { type: 'xstate.done.actor.scan', output: { critical: true } },
        { type: 'xstate.done.actor.scan', output: { critical: false } },
        { type: 'xstate.error.actor.scan', error: { name: 'Error', message: 'x' } },
        { type: 'xstate.done.actor.review', output: 'r' },
        { type: 'xstate.done.actor.report', output: 'p' },
      ],
      serializeState: (s) => JSON.stringify(s.value),
    });
    const finals = paths.map((p) => JSON.stringify(p.state.value)).sort();
    expect(finals).toEqual(
      [
        '"__done"',
        '"__failed"',
        '"scan"',
        '{"triage":{"when0":"review"}}',
        '{"triage":{"otherwise":"report"}}',
      ].sort(),
    );
  });

  it('runs without an engine: the default step actor fails with a message that tells the fix', async () => {
    const wf = workflow('bare').step('a').build();
    const actor = createActor(wf.machine, { input: { input: {} } });
    const done = new Promise((resolve) =>
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output) }),
    );
    actor.start();
    await expect(done).resolves.toMatchObject({
      status: 'failed',
      error: { cause: { message: expect.stringContaining("No agent named 'a'") } },
    });
  });
});
