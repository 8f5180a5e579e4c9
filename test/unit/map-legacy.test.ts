import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { workflow } from '../../src/index.js';
import { systemClock } from '../../src/machine/clock.js';
import { compileWorkflow } from '../../src/machine/compile.js';
import { createStepLogic } from '../../src/machine/step-logic.js';
import { silent } from '../support/engine.js';

/**
 * A run stored mid-map by an older Flowstate (a spawned step actor per item, the items in `context.maps`) resumes on
 * the map actor's machine and finishes, its done items not run again.
 */
describe('a map stored by the spawned-items form', () => {
  const definition = workflow('legacy-map')
    .map('m', { items: 'input', step: { agent: 'a', compensate: 'undo' }, concurrency: 2 })
    .step('after', { agent: 'a', input: 'results.m' })
    .build();
  const stepLogic = (a: (n: unknown) => unknown) =>
    createStepLogic({ agents: { a, undo: () => null }, clock: systemClock, logger: silent });

  it('resumes with its items and finishes on the current machine', async () => {
    const firstCalls: unknown[] = [];
    const older = compileWorkflow(definition.spec, {
      version: definition.version,
      stepLogic: stepLogic((n) => {
        firstCalls.push(n);
        return n === 0 ? 'zero' : new Promise(() => {});
      }),
      mapItemEvents: true,
    });
    const first = createActor(older, { input: { workflowId: 'w1', input: [0, 1, 2, 3] } }).start();
    await new Promise((r) => setTimeout(r, 10));
    const stored = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();
    expect(Object.keys(stored.children).sort()).toEqual(['m[1]', 'm[2]']);

    const calls: unknown[] = [];
    const current = compileWorkflow(definition.spec, {
      version: definition.version,
      stepLogic: stepLogic((n) => {
        calls.push(n);
        return Array.isArray(n) ? n.length : `item-${String(n)}`;
      }),
    });
    const resumed = createActor(current, { snapshot: stored, input: { workflowId: 'w1' } }).start();
    const output = await toPromise(resumed);
    expect(output).toEqual({
      status: 'done',
      output: { m: ['zero', 'item-1', 'item-2', 'item-3'], after: 4 },
    });
    expect(firstCalls).toEqual([0, 1, 2]);
    expect(calls.slice(0, 3).sort()).toEqual([1, 2, 3]);
    expect((resumed.getSnapshot().context as { completed: string[] }).completed.sort()).toEqual([
      'm[0]',
      'm[1]',
      'm[2]',
      'm[3]',
    ]);
  });
});
