import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { rearmWaits, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

const approval = workflow('embed-wait')
  .step('plan', { agent: 'plan' })
  .waitFor('approve', { event: 'approved', timeoutMs: 60_000, onTimeout: 'skip' })
  .build();

beforeEach(() => vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
afterEach(() => vi.useRealTimers());

// An embedder who persists the machine's snapshot and restores it with their own createActor: XState does not
// restore delayed events, so without rearmWaits the restored wait would never time out.
describe('a machine restored by its embedder', () => {
  it('times out its wait for what was left once rearmWaits is called', async () => {
    const engine = testEngine({ agents: { plan: () => 'PLAN' } });
    const machine = engine.machineFor(approval);
    const first = createActor(machine, { input: { input: {} } }).start();
    await vi.advanceTimersByTimeAsync(10);
    await vi.advanceTimersByTimeAsync(20_000);
    const snapshot = first.getPersistedSnapshot();
    first.stop();

    const restored = createActor(machine, { snapshot, input: { input: {} } }).start();
    rearmWaits(restored, { now: Date.now });
    await vi.advanceTimersByTimeAsync(39_000);
    expect(restored.getSnapshot().status).toBe('active');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(restored.getSnapshot().status).toBe('done');
    expect(restored.getSnapshot().output).toMatchObject({
      status: 'done',
      output: { plan: 'PLAN', approve: null },
    });
  });

  it('never times out without it (XState #5331), which is why it exists', async () => {
    const engine = testEngine({ agents: { plan: () => 'PLAN' } });
    const machine = engine.machineFor(approval);
    const first = createActor(machine, { input: { input: {} } }).start();
    await vi.advanceTimersByTimeAsync(20_000);
    const snapshot = first.getPersistedSnapshot();
    first.stop();
    const restored = createActor(machine, { snapshot, input: { input: {} } }).start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(restored.getSnapshot().status).toBe('active');
    restored.stop();
  });
});
