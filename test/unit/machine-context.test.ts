import { describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

describe("a run's starting context", () => {
  it('is shared only while empty: what one run records (skips, loop rounds, completed steps) never shows in the next', async () => {
    let fail = true;
    const wf = workflow('ctx')
      .step('maybe', { agent: 'maybe', onError: 'skip' })
      .step('undoable', { agent: 'ok', compensate: 'undo' })
      .loop('rounds', (b) => b.step('draft', { agent: 'ok' }), { until: () => false, maxIterations: 2 })
      .build();
    const engine = testEngine({
      agents: {
        maybe: async () => {
          if (fail) throw new Error('no');
          return 'yes';
        },
        ok: async () => 'ok',
        undo: async () => null,
      },
    });
    const first = engine.start(wf, {});
    await first.result;
    fail = false;
    const second = engine.start(wf, {});
    await second.result;
    const contextOf = (run: typeof first) =>
      run.actor.getSnapshot().context as { skipped: string[]; completed: string[]; iterations: object };
    expect(contextOf(first).skipped).toEqual(['maybe']);
    expect(contextOf(second).skipped).toEqual([]);
    expect(contextOf(first).completed).toEqual(['undoable']);
    expect(contextOf(second).completed).toEqual(['undoable']);
    expect(contextOf(first).iterations).toEqual(contextOf(second).iterations);
    // Nothing a run wrote went into the shared starting values: a third run starts empty.
    const third = engine.start(wf, {});
    expect(third.actor.getSnapshot().context).toMatchObject({ skipped: [], completed: [], iterations: {} });
    await third.result;
  });
});
