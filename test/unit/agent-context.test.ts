import { describe, expect, it } from 'vitest';
import { type AgentContext, type StepLogEvent, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

// What agent code does with its context: wrappers spread it, log it, pass `report` around detached. A wrapper must
// never silently lose the key that makes its effects exactly-once, and a copy must carry nothing of the engine's.
describe('an agent context', () => {
  it('keeps its run, step, attempt and idempotency key when spread, and nothing of the engine', async () => {
    const copies: Record<string, unknown>[] = [];
    const wf = workflow('spread-ctx')
      .step('s', { agent: 'wrapped', retry: { attempts: 2, initialMs: 1, jitter: 0 } })
      .build();
    const engine = testEngine({
      agents: {
        wrapped: (_input: unknown, ctx: AgentContext) => {
          const copy = { ...ctx, extra: 1 };
          copies.push(copy);
          if (ctx.attempt === 1) throw new Error('again');
          return 'ok';
        },
      },
    });
    await expect(engine.start(wf, {}, { id: 'run1' }).result).resolves.toEqual({ s: 'ok' });
    expect(copies).toHaveLength(2);
    for (const [i, copy] of copies.entries()) {
      expect(copy).toMatchObject({
        workflowId: 'run1',
        step: 's',
        attempt: i + 1,
        idempotencyKey: `run1:s:${i + 1}`,
      });
      // The lazily made parts are not copied, and no engine state (its abort, logger, report) leaks into a copy.
      expect(Object.keys(copy).sort()).toEqual(
        ['attempt', 'extra', 'idempotencyKey', 'step', 'timeoutMs', 'usage', 'workflowId'].sort(),
      );
    }
  });

  it('reports usage through a detached report, and logs as the plain object it stands for', async () => {
    const shown: string[] = [];
    const wf = workflow('report-ctx').step('s', { agent: 'llm' }).build();
    const engine = testEngine({
      agents: {
        llm: (_input: unknown, ctx: AgentContext) => {
          const { report, signal } = ctx;
          expect(signal.aborted).toBe(false);
          report?.({ usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 } });
          report?.({ usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } });
          shown.push(JSON.stringify(ctx));
          return 'ok';
        },
      },
    });
    const run = engine.start(wf, {}, { id: 'run2' });
    const events: StepLogEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    await run.result;
    expect(shown).toEqual([
      JSON.stringify({ workflowId: 'run2', step: 's', attempt: 1, idempotencyKey: 'run2:s:1' }),
    ]);
    expect(events.find((e) => e.type === 'done')).toMatchObject({
      usage: { inputTokens: 4, outputTokens: 5, totalTokens: 9 },
    });
  });
});
