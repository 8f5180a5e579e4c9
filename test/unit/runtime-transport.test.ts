import { describe, expect, it } from 'vitest';
import { type AgentJob, type AgentTransport, workflow } from '../../src/index.js';
import { fromJSON } from '../../src/json.js';
import { testEngine } from '../support/engine.js';

/** A transport that runs jobs with the given agents in this process and records what it was handed. */
function fakeTransport(run: (job: AgentJob, signal: AbortSignal) => Promise<unknown>) {
  const jobs: AgentJob[] = [];
  const transport: AgentTransport = {
    call: (job, signal) => {
      jobs.push(job);
      return run(job, signal);
    },
  };
  return { transport, jobs };
}

describe('agent transport seam', () => {
  it('dispatches the attempts of steps on a queue; other steps run in process', async () => {
    const { transport, jobs } = fakeTransport(async (job) => `${job.agent} on ${job.queue}`);
    const wf = workflow('t1')
      .step('local', { agent: 'here' })
      .step('remote', { agent: 'there', queue: 'sql', timeoutMs: 5_000 })
      .build();
    // 'there' is registered on the workers only: the engine does not ask for it.
    const engine = testEngine({ agents: { here: async () => 'here' }, transport });
    const run = engine.start(wf, { x: 1 }, { id: 'r1' });
    await expect(run.result).resolves.toEqual({ local: 'here', remote: 'there on sql' });
    expect(jobs).toEqual([
      {
        queue: 'sql',
        agent: 'there',
        input: { x: 1 },
        runId: 'r1',
        stepPath: 'remote',
        attempt: 1,
        idempotencyKey: 'r1:remote:1',
        timeoutMs: 5_000,
      },
    ]);
  });

  it('keeps retries in the engine: each attempt is a job of its own key, errors keep their retryable flag', async () => {
    let calls = 0;
    const { transport, jobs } = fakeTransport(async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('flaky'), { code: 'ETIMEDOUT' });
      if (calls === 2) return 'ok';
      throw new Error('unreachable');
    });
    const wf = workflow('t2')
      .step('a', { retry: { attempts: 3, initialMs: 1, jitter: 0, retryOn: ['ETIMEDOUT'] } })
      .build();
    const run = testEngine({ transport, defaultQueue: 'q' }).start(wf, {}, { id: 'r2' });
    await expect(run.result).resolves.toEqual({ a: 'ok' });
    expect(jobs.map((j) => j.idempotencyKey)).toEqual(['r2:a:1', 'r2:a:2']);

    const refused = fakeTransport(async () => {
      throw Object.assign(new Error('no'), { retryable: false });
    });
    const failed = testEngine({ transport: refused.transport, defaultQueue: 'q' }).start(
      workflow('t3')
        .step('a', { retry: { attempts: 3, initialMs: 1 } })
        .build(),
      {},
    );
    await expect(failed.result).rejects.toMatchObject({ code: 'STEP_FAILED', attempts: 1 });
  });

  it('aborts the transport signal when the attempt times out', async () => {
    const reasons: unknown[] = [];
    const { transport } = fakeTransport(
      (_job, signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            reasons.push(signal.reason);
            reject(signal.reason);
          });
        }),
    );
    const wf = workflow('t4').step('slow', { queue: 'q', timeoutMs: 20 }).build();
    const run = testEngine({ transport }).start(wf, {});
    await expect(run.result).rejects.toMatchObject({ code: 'STEP_FAILED' });
    expect(reasons).toEqual([expect.objectContaining({ code: 'STEP_TIMEOUT' })]);
  });

  it('runs queue steps in process without a transport, and keeps `queue` through the JSON form', async () => {
    const wf = workflow('t5').step('a', { queue: 'q' }).build();
    await expect(testEngine({ agents: { a: async () => 1 } }).start(wf, {}).result).resolves.toEqual({
      a: 1,
    });
    expect((fromJSON(wf.toJSON()).toJSON().steps as unknown[])[0]).toMatchObject({ queue: 'q' });
    expect(() => workflow('t6').step('a', { queue: 'not:valid' }).build()).toThrow(/queue name/);
  });
});
