// A restored run (taken over after a crash, resumed, woken from passivation) lists the steps it ended before it was
// stored, as the run did before: it listed only the steps that ran since the restore (0 done of 9).
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Progress, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StepLogEvent } from '../../src/progress/events.js';
import { testEngine } from '../support/engine.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const child = workflow('restored-child').step('c1').step('c2').build();
const shapes = workflow('restored-shapes')
  .step('a', { onError: 'skip' })
  .parallel('par', {
    left: (r) => r.step('l1'),
    right: (r) => r.step('r1').waitFor('rw', { event: 'rgo', timeoutMs: 600_000 }),
  })
  .map('m', { items: () => [1, 2, 3], step: { agent: 'c' } })
  .step('sub', { workflow: child })
  .waitFor('w', { event: 'go', timeoutMs: 600_000 })
  .step('d')
  .build();
const agents = {
  a: () => {
    throw new Error('no');
  },
  l1: () => 1,
  r1: () => 2,
  c: (n: unknown) => n,
  c1: () => 'c1',
  c2: () => 'c2',
  d: () => 'd',
};
const listed = (p: Progress) => p.steps.map((s) => `${s.path} ${s.kind} ${s.status}`);

describe('a restored run’s progress', () => {
  it('lists the steps it ended before it was stored, as it did before', async () => {
    const store = memoryStore();
    const first = testEngine({ agents, workflows: [shapes, child], store, lease: { owner: 'one' } });
    const run = first.start(shapes, {}, { id: 'r' });
    await sleep(50);
    await first.send('r', { type: 'rgo' });
    await sleep(50);
    const before = await firstValueFrom(run.progress$);
    expect(before.status).toBe('waiting');
    await first.close();

    const second = testEngine({ agents, workflows: [shapes, child], store, lease: { owner: 'two' } });
    const restored = await second.resume('r');
    const after = await firstValueFrom(restored.progress$);
    // The same steps in the same states (the order of steps that ended at one time may differ).
    expect(listed(after).sort()).toEqual(listed(before).sort());
    expect(after.counts).toEqual({ ...before.counts });
    expect(after.counts).toMatchObject({ done: 9, skipped: 1, running: 1, pending: 1 });
    // The step log replays them too, then goes on.
    const events: StepLogEvent[] = [];
    restored.events$.subscribe((e) => events.push(e));
    await second.send('r', { type: 'go' });
    await expect(restored.result).resolves.toMatchObject({ d: 'd' });
    const ends = events.filter((e) => e.type !== 'started').map((e) => `${e.path} ${e.type}`);
    expect(ends).toEqual(
      expect.arrayContaining(['a skipped', 'm[2] done', 'sub/c2 done', 'w done', 'd done']),
    );
    await second.close();
  });

  it('lists the first 1,000 items of a big map, not one view per item at every wake', async () => {
    const big = workflow('restored-big-map')
      .map('m', {
        items: () => Array.from({ length: 1_500 }, (_, i) => i),
        step: { agent: 'c' },
        concurrency: 50,
      })
      .waitFor('w', { event: 'go', timeoutMs: 600_000 })
      .build();
    const store = memoryStore();
    const first = testEngine({ agents, workflows: [big], store, lease: { owner: 'one' } });
    first.start(big, {}, { id: 'big' });
    for (let i = 0; i < 400 && (await store.getRun('big'))?.status !== 'waiting'; i++) await sleep(10);
    await first.close();
    const second = testEngine({ agents, workflows: [big], store, lease: { owner: 'two' } });
    const restored = await second.resume('big');
    const after = await firstValueFrom(restored.progress$);
    expect(after.steps.filter((s) => s.kind === 'item')).toHaveLength(1_000);
    await second.close();
  });

  it('lists them for an engine that watches every run from its start (step lines logged)', async () => {
    const store = memoryStore();
    const first = testEngine({ agents, workflows: [shapes, child], store, lease: { owner: 'one' } });
    first.start(shapes, {}, { id: 'r' });
    await sleep(50);
    await first.send('r', { type: 'rgo' });
    await sleep(50);
    await first.close();
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const second = testEngine({ agents, workflows: [shapes, child], store, lease: { owner: 'two' }, logger });
    const restored = await second.resume('r');
    const after = await firstValueFrom(restored.progress$);
    expect(after.counts).toMatchObject({ done: 9, skipped: 1 });
    await second.close();
  });
});
