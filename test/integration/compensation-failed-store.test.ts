import { describe, expect, it } from 'vitest';
import { runRunsCommand } from '../../src/cli/commands/runs.js';
import { workflow } from '../../src/index.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';

const fails = (message: string) => async () => {
  throw Object.assign(new Error(message), { retryable: false });
};

// A run that crashes between two compensations, one of which failed, resumes on another engine and ends `failed`
// (not `compensated`: not every change was undone), and `runs show` says which step was not undone.
describe('a compensation that failed, across a restart (SQLite)', () => {
  const files = sqliteScratch('compensation-failed-');
  const saga = workflow('saga-undo-fails', { onError: 'compensate' })
    .step('a', { compensate: 'undoA' })
    .step('b', { compensate: 'undoB' })
    .step('c')
    .build();

  it('is kept in the snapshot, ends the resumed run failed, and is shown by runs show', async () => {
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { a: () => 1, b: () => 2, c: fails('c failed'), undoB: fails('undo b failed'), undoA: never },
      workflows: [saga],
    });
    first.start(saga, {}, { id: 'u1' });
    await settle(first);
    await settle(first);
    // The process dies here: undoB failed, undoA is running.
    const mid = await files.store.getRun('u1');
    expect(mid?.status).toBe('running');
    expect(mid?.snapshot).toContain('undo b failed');
    const second = files.restarted({
      agents: { a: () => 1, b: () => 2, c: fails('c failed'), undoB: fails('again'), undoA: () => 'ok' },
      workflows: [saga],
    });
    const [resumed] = await second.recover();
    const error = (await resumed?.result.catch((e: unknown) => e)) as { compensationErrors?: unknown };
    expect(resumed?.status).toBe('failed');
    expect(error.compensationErrors).toEqual([expect.objectContaining({ stepPath: 'b/compensate' })]);
    await settle(second);
    const stored = await files.restartedStore().getRun('u1');
    expect(stored?.status).toBe('failed');
    const out: string[] = [];
    const code = await runRunsCommand(['show', 'u1', '--store', `sqlite:${files.path}`], {
      out: (l) => void out.push(l),
      err: (l) => void out.push(l),
    });
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/status\s+failed/);
    expect(out.join('\n')).toMatch(/NOT undone \(b\/compensate\): .*undo b failed/);
  });
});
