import { describe, expect, it } from 'vitest';
import { type AgentContext, type AgentFunction, type StepLogEvent, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

// What agent code does with its context: wrappers spread it, log it, pass `report` around detached. A wrapper must
// never silently lose the key that makes its effects exactly-once, and a copy must carry nothing of the engine's.
describe('an agent context', () => {
  it('keeps its run, step, attempt and idempotency key when spread', async () => {
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
      // The parts made on first read are not copied (documented: pass the context on as it is).
      expect(copy).not.toHaveProperty('signal');
      expect(copy).not.toHaveProperty('report');
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

  it('works whole through an Object.create or Proxy wrapper: signal, logger, report and its usage', async () => {
    const wrappers = {
      derived: (ctx: AgentContext) => Object.create(ctx, { span: { value: 'span-1' } }) as AgentContext,
      proxied: (ctx: AgentContext) => new Proxy(ctx, {}),
    };
    for (const [name, wrap] of Object.entries(wrappers)) {
      const inner: AgentFunction = (_input, ctx) => {
        ctx.logger.debug('inner agent');
        ctx.report?.({ usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 } });
        return `${ctx.signal.aborted ? 'aborted' : 'ok'} ${ctx.idempotencyKey}`;
      };
      const wf = workflow(`wrapped-${name}`).step('s', { agent: 'outer' }).build();
      const engine = testEngine({
        agents: { outer: (input: unknown, ctx: AgentContext) => inner(input, wrap(ctx)) },
      });
      const run = engine.start(wf, {}, { id: name });
      const events: StepLogEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      await expect(run.result).resolves.toEqual({ s: `ok ${name}:s:1` });
      // Reported through the wrapper, counted on the engine's context.
      expect(events.find((e) => e.type === 'done')).toMatchObject({ usage: { totalTokens: 3 } });
    }
  });
});
