import { describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { runPath, workflowPaths } from '../../src/testing/index.js';

describe('test paths through a map (the path model spawns items, the run hosts them in the map actor)', () => {
  const wf = workflow('paths-map', { onError: 'compensate' })
    .step('list', { agent: 'list' })
    .map('m', {
      items: 'results.list',
      step: { agent: 'item', onError: 'skip', retry: { attempts: 2 }, compensate: 'undo' },
      concurrency: 2,
    })
    .step('after', { agent: 'after' })
    .build();

  it('drives a real run along every path to its end', async () => {
    const paths = workflowPaths(wf, { outputs: { list: [[1, 2]] } as never });
    // Item outcomes, retries, skips and compensations of items, in the path model's item-by-item form.
    expect(paths.map((p) => p.name)).toContain(
      'list done -> m[0] done -> m[1] done -> after error -> m[1] compensated -> m[0] compensated -> compensated',
    );
    expect(paths.map((p) => p.name)).toContain('list done -> m[0] error -> m[1] error -> after done');
    for (const path of paths) await runPath(wf, path);
  });
});
