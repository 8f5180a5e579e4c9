/**
 * The run page of a failed run (flowstate serve): found by a new user, it showed no steps. A failed step is in
 * neither the last snapshot (XState drops a finished step actor) nor the journal (successful attempts only), so a
 * run that failed at its first step had an empty step log. The run's error names the step: the log shows it.
 */
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createServeApp } from '../../src/cli/serve/app.js';
import { workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { testEngine } from '../support/engine.js';

const first = workflow('fails-first')
  .step('fetch', { retry: { attempts: 2, initialMs: 1 } })
  .build();
const later = workflow('fails-later')
  .step('fetch')
  .step('review', { retry: { attempts: 3, initialMs: 1 } })
  .build();
const undone = workflow('fails-undoing', { onError: 'compensate' })
  .step('fetch', { compensate: 'unfetch' })
  .step('review')
  .build();
const store = memoryStore();
const { app, close } = createServeApp({
  store,
  workflows: new Map([
    [first.id, first],
    [later.id, later],
    [undone.id, undone],
  ]),
  registry: new Registry(),
  assets: new Map(),
  token: 't0ken',
  pollMs: 10,
});
afterAll(() => close());

type Steps = Array<{
  path: string;
  status: string;
  attempts: Array<{ attempt: number; error?: { message: string; code?: string } }>;
}>;

/** Runs a workflow to its end with agents that fail, then reads its page's data (the server never watched it). */
async function endedRun(wf: typeof first, id: string) {
  const engine = testEngine({
    store,
    agents: {
      fetch: async () => {
        if (wf === first) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
        return 'rows';
      },
      review: async () => {
        throw new Error('the model is down');
      },
      unfetch: async () => {
        throw new Error('cannot undo');
      },
    },
  });
  const run = engine.start(wf, {}, { id });
  await run.result.catch(() => {});
  await engine.close();
  const response = await app.request(`/api/runs/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { run: { status: string }; steps: Steps };
}

describe('the step log of a failed run', () => {
  it('shows the step a run failed at first, with its attempts and the agent’s error', async () => {
    const detail = await endedRun(first, 'failed-first');
    expect(detail.run.status).toBe('failed');
    expect(detail.steps).toEqual([
      expect.objectContaining({
        path: 'fetch',
        status: 'failed',
        attempts: [
          expect.objectContaining({
            attempt: 2,
            error: { message: 'connection refused', code: 'ECONNREFUSED' },
          }),
        ],
      }),
    ]);
  });

  it('shows the steps done, then the one that failed, last', async () => {
    const detail = await endedRun(later, 'failed-later');
    expect(detail.steps.map((s) => [s.path, s.status])).toEqual([
      ['fetch', 'done'],
      ['review', 'failed'],
    ]);
    expect(detail.steps[1]?.attempts.at(-1)).toMatchObject({
      attempt: 3,
      error: { message: 'the model is down' },
    });
  });

  it('shows a compensation that failed as a failed step too', async () => {
    const detail = await endedRun(undone, 'failed-undoing');
    expect(detail.run.status).toBe('failed');
    expect(detail.steps.map((s) => [s.path, s.status])).toEqual([
      ['fetch', 'done'],
      ['review', 'failed'],
      ['fetch/compensate', 'failed'],
    ]);
    expect(detail.steps[2]?.attempts.at(-1)?.error?.message).toBe('cannot undo');
  });
});
