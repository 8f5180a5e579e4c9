// A run restored while it waits (resumed after a crash, taken over, woken from passivation) holds its percent from
// where the wait began, as its deadline in the stored context tells: not from the restore, and not 99% because the
// time it waited before counts as work.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Progress, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { testEngine } from '../support/engine.js';
import { sleeper } from '../support/progress.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const approval = workflow('restored-approval')
  .step('draft', { expectedMs: 1_000 })
  .waitFor('approve', { event: 'approve', timeoutMs: HOUR })
  .step('publish', { expectedMs: 1_000 })
  .build();
const agents = { draft: sleeper(() => 1_000), publish: sleeper(() => 1_000) };

function current(run: {
  readonly progress$: { subscribe(next: (p: Progress) => void): { unsubscribe(): void } };
}) {
  let now: Progress | undefined;
  run.progress$
    .subscribe((p) => {
      now ??= p;
    })
    .unsubscribe();
  return now as Progress;
}

describe('a run restored during a wait', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('holds its percent from the start of the wait, then resumes from there', async () => {
    const store = memoryStore();
    const first = testEngine({ agents, workflows: [approval], store, lease: { owner: 'one' } });
    const run = first.start(approval, {}, { id: 'held' });
    await vi.advanceTimersByTimeAsync(2_000 + 10 * MINUTE);
    const before = current(run);
    expect(before.status).toBe('waiting');
    // The draft's time (its agent's second, and the store's commits around it) against publish's expected second.
    const drafted = before.steps.find((s) => s.path === 'draft')?.endedAt as number;
    expect(before.steps.find((s) => s.path === 'approve')?.startedAt).toBe(drafted);
    expect(before.percent).toBe(Math.round((1000 * drafted) / (drafted + 1_000)) / 10);
    await first.close();

    await vi.advanceTimersByTimeAsync(20 * MINUTE);
    const second = testEngine({ agents, workflows: [approval], store, lease: { owner: 'two' } });
    const restored = await second.resume('held');
    const after = current(restored);
    expect(after).toMatchObject({
      status: 'waiting',
      percent: before.percent,
      elapsedMs: 2_000 + 30 * MINUTE,
    });
    expect(after.eta.waitingOn).toEqual([
      { kind: 'event', path: 'approve', event: 'approve', deadline: drafted + HOUR },
    ]);
    await second.send('held', { type: 'approve' });
    await vi.advanceTimersByTimeAsync(500);
    const resumed = current(restored);
    expect(resumed.status).toBe('running');
    // It goes on from where it held: the draft's time and publish's so far, of the draft's and publish's expected.
    const publishing = resumed.at - (resumed.steps.find((s) => s.path === 'publish')?.startedAt as number);
    expect(publishing).toBeGreaterThan(0);
    expect(resumed.percent).toBe(Math.round((1000 * (drafted + publishing)) / (drafted + 1_000)) / 10);
    await vi.advanceTimersByTimeAsync(2_000);
    await restored.result;
    await second.close();
  });
});
