import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore, workflow } from '../../src/index.js';
import { deferred, testEngine } from '../support/engine.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

afterEach(() => exporter.reset());

/** The run span ends a microtask after the run (once its steps' last snapshots are in). */
const settle = () => new Promise((r) => setTimeout(r, 0));

const spans = () =>
  exporter.getFinishedSpans().map((s) => ({
    name: s.name,
    attributes: s.attributes,
    status: s.status.code,
    message: s.status.message,
    parent: s.parentSpanContext?.spanId,
    id: s.spanContext().spanId,
    ms: (s.endTime[0] - s.startTime[0]) * 1000 + (s.endTime[1] - s.startTime[1]) / 1e6,
  }));

describe('tracing: a span per run and per step attempt', () => {
  it('traces a run, its steps and a retried attempt with its error, as children of the run span', async () => {
    const wf = workflow('traced')
      .step('fetch', { retry: { attempts: 2, initialMs: 1 } })
      .step('save')
      .build();
    let calls = 0;
    const agents = {
      fetch: async () => {
        if (calls++ === 0) throw Object.assign(new Error('flaky upstream'), { code: 'E_UP' });
        return 1;
      },
      save: async () => {
        await new Promise((r) => setTimeout(r, 20));
        return 2;
      },
    };
    const engine = testEngine({ agents, tracing: { tracer } });
    await engine.start(wf, {}, { id: 'run-1' }).result;
    await settle();
    const all = spans();
    const run = all.find((s) => s.name === 'flowstate.run');
    expect(run?.attributes).toMatchObject({
      'flowstate.run.id': 'run-1',
      'flowstate.workflow': 'traced',
      'flowstate.run.status': 'done',
    });
    expect(run?.status).toBe(1); // OK
    const steps = all.filter((s) => s.name === 'flowstate.step');
    expect(
      steps.map((s) => [
        s.attributes['flowstate.step.path'],
        s.attributes['flowstate.step.attempt'],
        s.status,
      ]),
    ).toEqual([
      ['fetch', 1, 2],
      ['fetch', 2, 1],
      ['save', 1, 1],
    ]);
    expect(steps[0]?.message).toBe('flaky upstream');
    for (const step of steps) {
      expect(step.parent).toBe(run?.id);
      expect(step.attributes['flowstate.workflow']).toBe('traced');
    }
    // The attempt span spans the agent call (20 ms of `save`).
    expect(steps[2]?.ms).toBeGreaterThanOrEqual(15);
  });

  it('marks a failed run and its last attempt as errors', async () => {
    const wf = workflow('traced-fail')
      .step('boom', { retry: { attempts: 1 } })
      .build();
    const engine = testEngine({
      agents: {
        boom: async () => {
          throw new Error('kaput');
        },
      },
      tracing: { tracer },
    });
    await expect(engine.start(wf, {}).result).rejects.toThrow();
    await settle();
    const [step, run] = spans();
    expect(step).toMatchObject({ name: 'flowstate.step', status: 2, message: 'kaput' });
    expect(run).toMatchObject({ name: 'flowstate.run', status: 2 });
    expect(run?.attributes['flowstate.run.status']).toBe('failed');
    expect(run?.attributes['flowstate.error.code']).toBe('STEP_FAILED');
  });

  it('ends the open attempt of a cancelled run as stopped', async () => {
    const wf = workflow('traced-cancel').step('slow').build();
    const gate = deferred();
    const engine = testEngine({
      agents: {
        slow: (_input: unknown, ctx: { signal: AbortSignal }) => {
          ctx.signal.addEventListener('abort', () => gate.reject(ctx.signal.reason));
          return gate.promise;
        },
      },
      tracing: { tracer },
    });
    const run = engine.start(wf, {});
    await new Promise((r) => setTimeout(r, 10));
    run.cancel('enough');
    await expect(run.result).rejects.toThrow();
    await settle();
    const step = spans().find((s) => s.name === 'flowstate.step');
    expect(step?.status).toBe(2);
    expect(spans().find((s) => s.name === 'flowstate.run')?.attributes['flowstate.run.status']).toBe(
      'cancelled',
    );
  });

  it('names a resumed run by its id, and traces only the attempts made after the takeover', async () => {
    const wf = workflow('traced-resume')
      .step('first')
      .step('review', { retry: { attempts: 1 }, escalate: { to: 'human', timeoutMs: 600_000 } })
      .build();
    const store = memoryStore();
    const agents = {
      first: async () => 1,
      review: async () => {
        throw new Error('needs a human');
      },
    };
    const before = testEngine({ agents, workflows: [wf], store, tracing: { tracer } });
    void before.start(wf, {}, { id: 'resumed-1' }).result.catch(() => {});
    for (let i = 0; i < 100 && (await before.get('resumed-1'))?.status !== 'waiting'; i++)
      await new Promise((r) => setTimeout(r, 5));
    await before.close();
    await settle();
    exporter.reset();
    const after = testEngine({ agents, workflows: [wf], store, tracing: { tracer } });
    const [run] = await after.recover();
    run?.resolveEscalation('review', { action: 'skip', value: 'ok' });
    await run?.result;
    await settle();
    expect(
      spans().map((s) => [s.name, s.attributes['flowstate.run.id'], s.attributes['flowstate.step.path']]),
    ).toEqual([['flowstate.run', 'resumed-1', undefined]]);
    await after.close();
  });

  it('costs nothing without the option: no observer, no span', async () => {
    const wf = workflow('untraced').step('a').build();
    await testEngine({ agents: { a: async () => 1 } }).start(wf, {}).result;
    expect(spans()).toEqual([]);
  });
});
