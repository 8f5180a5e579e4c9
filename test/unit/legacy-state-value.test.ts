import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { workflow } from '../../src/index.js';
import { flatStateValue } from '../../src/machine/legacy-state-value.js';

/** The state values of snapshots stored before the compiled machine was flat, mapped to today's as they restore. */
describe('flatStateValue', () => {
  const wf = workflow('legacy-values')
    .step('fetch')
    .branch('triage', [{ when: 'results.fetch.ok', then: (b) => b.step('fix') }, { otherwise: (b) => b }])
    .step('report', { compensate: 'undo' })
    .build();

  it('maps the old container values and the root states by their old names', () => {
    const flat = (value: unknown) => flatStateValue(wf.machine, value as never);
    expect(flat({ running: 'fetch' })).toBe('fetch');
    expect(flat({ running: { triage: { when0: 'fix' } } })).toEqual({ triage: { when0: 'fix' } });
    expect(flat({ compensating: 'running' })).toEqual({ __compensating: 'running' });
    expect(flat('done')).toBe('__done');
    expect(flat('failed')).toBe('__failed');
    expect(flat('compensated')).toBe('__compensated');
    expect(flat('cancelled')).toBe('__cancelled');
  });

  it('keeps a value that already fits the machine, and one it cannot place', () => {
    const value = { triage: { when0: 'fix' } };
    expect(flatStateValue(wf.machine, value)).toBe(value);
    expect(flatStateValue(wf.machine, '__done')).toBe('__done');
    expect(flatStateValue(wf.machine, 'nowhere')).toBe('nowhere');
  });

  it('never takes a step named like an old state for the old state', () => {
    const named = workflow('legacy-names')
      .step('running')
      .branch('done', [
        { when: 'results.running.ok', then: (b) => b.step('compensating') },
        { otherwise: (b) => b },
      ])
      .build();
    expect(flatStateValue(named.machine, 'running')).toBe('running');
    expect(flatStateValue(named.machine, { done: { when0: 'compensating' } })).toEqual({
      done: { when0: 'compensating' },
    });
    // The old shape of the same states: below `running`.
    expect(flatStateValue(named.machine, { running: 'running' })).toBe('running');
    expect(flatStateValue(named.machine, { running: { done: '__decide' } })).toEqual({ done: '__decide' });
  });

  /** A run that ended, as the build before flat machines persisted it (its root state by its old name). */
  const endedBeforeFlat = {
    status: 'done',
    value: 'done',
    historyValue: {},
    context: { outcome: { status: 'done', output: {} } },
    children: {},
    output: { status: 'done', output: {} },
  } as never;

  it('restores an old snapshot through createActor, the way an embedder does', () => {
    const actor = createActor(wf.machine, { snapshot: endedBeforeFlat });
    expect(actor.getSnapshot().value).toBe('__done');
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('keeps restoring old snapshots after provide (which makes a new machine from the config)', () => {
    const provided = wf.machine.provide({});
    expect(provided).not.toBe(wf.machine);
    const actor = createActor(provided, { snapshot: endedBeforeFlat });
    expect(actor.getSnapshot().value).toBe('__done');
  });
});
