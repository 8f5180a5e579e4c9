import { APICallError } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { LlmCallError, LlmOutputError, llmAgent, retryAfterMs } from '../../src/ai/index.js';
import { type AgentContext, type StepLogEvent, workflow } from '../../src/index.js';
import { silent, testEngine } from '../support/engine.js';

// llmAgent on the AI SDK's mock model: no network. The engine's own retry policy does the retrying.

const Answer = z.object({ label: z.string(), score: z.number().min(0).max(1) });

/** A mock model answering `text` each call (or `answers` in turn), with 10 input and 5 output tokens. */
function model(...answers: (string | Error)[]) {
  let call = 0;
  return new MockLanguageModelV3({
    doGenerate: async (options) => {
      const answer = answers[Math.min(call++, answers.length - 1)] as string | Error;
      if (options.abortSignal?.aborted) throw options.abortSignal.reason;
      if (answer instanceof Error) throw answer;
      return {
        content: [{ type: 'text', text: answer }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 5, text: 5, reasoning: 0 },
        },
        warnings: [],
      };
    },
  });
}

function context(signal = new AbortController().signal): AgentContext & { reports: unknown[] } {
  const reports: unknown[] = [];
  return {
    signal,
    attempt: 1,
    workflowId: 'w',
    step: 's',
    idempotencyKey: 'w:s:1',
    logger: silent,
    report: (r) => reports.push(r),
    reports,
  };
}

function httpError(status: number, headers: Record<string, string> = {}) {
  return new APICallError({
    message: `HTTP ${status}`,
    url: 'http://127.0.0.1/v1/chat/completions',
    requestBodyValues: { prompt: 'secret prompt' },
    statusCode: status,
    responseHeaders: headers,
  });
}

describe('llmAgent', () => {
  afterEach(() => vi.useRealTimers());

  it('returns the structured answer, validated, and reports its tokens', async () => {
    const m = model('{"label":"spam","score":0.9}');
    const agent = llmAgent({
      model: m,
      system: 'Classify.',
      prompt: (i: { text: string }) => i.text,
      output: Answer,
    });
    const ctx = context();
    await expect(agent({ text: 'buy now' }, ctx)).resolves.toEqual({ label: 'spam', score: 0.9 });
    expect(ctx.reports).toEqual([{ usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } }]);
    const call = m.doGenerateCalls[0];
    expect(call?.maxOutputTokens).toBeUndefined();
    expect(call?.responseFormat).toMatchObject({ type: 'json' });
    // The schema is stated in the system message too (for servers that only promise "some JSON").
    expect(JSON.stringify(call?.prompt)).toContain('JSON Schema');
  });

  it('fails an invalid answer with a typed, non-retryable error carrying the zod issue path', async () => {
    const agent = llmAgent({ model: model('{"label":"spam","score":7}'), prompt: 'x', output: Answer });
    const ctx = context();
    const error = await Promise.resolve(agent({}, ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmOutputError);
    expect(error).toMatchObject({ retryable: false, code: 'LLM_OUTPUT_INVALID' });
    expect((error as LlmOutputError).issues[0]?.path).toEqual(['score']);
    expect((error as Error).message).toContain('score');
    // The call was made and paid for: its tokens are reported even though the answer is refused.
    expect(ctx.reports).toHaveLength(1);
  });

  it('fails an answer that is not JSON with a non-retryable error at the root path', async () => {
    const agent = llmAgent({ model: model('I think it is spam'), prompt: 'x', output: Answer });
    const error = await Promise.resolve(agent({}, context())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmOutputError);
    expect((error as LlmOutputError).issues[0]?.path).toEqual([]);
  });

  it('passes ctx.signal to the call and ends with the engine reason when it fires', async () => {
    const controller = new AbortController();
    const m = new MockLanguageModelV3({
      doGenerate: (options) =>
        new Promise((_, reject) => {
          const fail = () => reject(new Error('aborted by SDK'));
          if (options.abortSignal?.aborted) fail();
          options.abortSignal?.addEventListener('abort', fail);
        }),
    });
    const agent = llmAgent({ model: m, prompt: 'x', output: Answer });
    const pending = Promise.resolve(agent({}, context(controller.signal))).catch((e: unknown) => e);
    await vi.waitFor(() => expect(m.doGenerateCalls).toHaveLength(1));
    const reason = new Error('step timed out');
    controller.abort(reason);
    await expect(pending).resolves.toBe(reason);
    expect(m.doGenerateCalls[0]?.abortSignal).toBeDefined();
  });

  it('maps 429 and 5xx to retryable errors with retry-after, other 4xx to non-retryable ones', async () => {
    const prompt = 'x';
    const fail = async (error: Error): Promise<LlmCallError> =>
      Promise.resolve(llmAgent({ model: model(error), prompt, output: Answer })({}, context())).then(
        () => expect.unreachable(),
        (e: unknown) => e as LlmCallError,
      );
    const tooMany = await fail(httpError(429, { 'retry-after': '2' }));
    expect(tooMany).toBeInstanceOf(LlmCallError);
    expect(tooMany).toMatchObject({ retryable: true, status: 429, retryAfterMs: 2000 });
    expect(await fail(httpError(503))).toMatchObject({ retryable: true, status: 503 });
    expect(await fail(httpError(401))).toMatchObject({ retryable: false, status: 401 });
    expect(await fail(httpError(400))).toMatchObject({ retryable: false, status: 400 });
    // The request (prompt, headers) is not carried along.
    expect(JSON.stringify({ ...tooMany, message: tooMany.message })).not.toContain('secret prompt');
  });

  it('scrubs API keys from error messages', async () => {
    vi.stubEnv('FAKE_PROVIDER_API_KEY', 'sk-test-0123456789');
    try {
      const error = new APICallError({
        message: 'Incorrect API key provided: sk-test-0123456789',
        url: 'http://x',
        requestBodyValues: {},
        statusCode: 401,
      });
      const e: Error = await Promise.resolve(
        llmAgent({ model: model(error), prompt: 'x', output: Answer })({}, context()),
      ).then(
        () => expect.unreachable(),
        (x: unknown) => x as Error,
      );
      expect(e.message).not.toContain('sk-test-0123456789');
      expect(e.message).toContain('[redacted]');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reads retry-after-ms, retry-after seconds and dates', () => {
    expect(retryAfterMs({ 'retry-after-ms': '150' })).toBe(150);
    expect(retryAfterMs({ 'Retry-After': '3' })).toBe(3000);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4_000)).toBe(6000);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('llmAgent in a run', () => {
  afterEach(() => vi.useRealTimers());

  it('is retried by the step policy after a 429, waiting at least retry-after; tokens on the done event and in progress', async () => {
    vi.useFakeTimers({ now: 0 });
    const times: number[] = [];
    const m = new MockLanguageModelV3({
      doGenerate: async () => {
        times.push(Date.now());
        if (times.length === 1) throw httpError(429, { 'retry-after': '1' });
        return {
          content: [{ type: 'text', text: '{"label":"ham","score":0.1}' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: {
            inputTokens: { total: 7, noCache: 7, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: 3, text: 3, reasoning: 0 },
          },
          warnings: [],
        };
      },
    });
    const wf = workflow('llm')
      .step('classify', { agent: 'classify', retry: { attempts: 3, initialMs: 100, jitter: 0 } })
      .build();
    const engine = testEngine({ agents: { classify: llmAgent({ model: m, prompt: 'x', output: Answer }) } });
    const run = engine.start(wf, {});
    const events: StepLogEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    let usage: unknown;
    run.progress$.subscribe((p) => {
      usage = p.steps.find((s) => s.path === 'classify')?.usage ?? usage;
    });
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(run.result).resolves.toEqual({ classify: { label: 'ham', score: 0.1 } });
    // The policy's 100 ms backoff is lengthened to the server's 1 s.
    expect(times).toEqual([0, 1000]);
    expect(events.find((e) => e.type === 'retry-scheduled')).toMatchObject({ delayMs: 1000 });
    expect(events.find((e) => e.type === 'done')).toMatchObject({
      usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 },
    });
    expect(usage).toEqual({ inputTokens: 7, outputTokens: 3, totalTokens: 10 });
  });

  it('never waits longer than the policy maxMs for a retry-after', async () => {
    vi.useFakeTimers({ now: 0 });
    const times: number[] = [];
    const agent = async () => {
      times.push(Date.now());
      if (times.length === 1) throw Object.assign(new Error('busy'), { retryAfterMs: 60_000 });
      return 'ok';
    };
    const wf = workflow('capped')
      .step('a', { retry: { attempts: 2, initialMs: 100, maxMs: 400, jitter: 0 } })
      .build();
    const run = testEngine({ agents: { a: agent } }).start(wf, {});
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(run.result).resolves.toEqual({ a: 'ok' });
    expect(times).toEqual([0, 400]);
  });

  it('does not retry a 401', async () => {
    const m = model(httpError(401));
    const wf = workflow('llm401')
      .step('classify', { agent: 'classify', retry: { attempts: 3 } })
      .build();
    const run = testEngine({
      agents: { classify: llmAgent({ model: m, prompt: 'x', output: Answer }) },
    }).start(wf, {});
    await expect(run.result).rejects.toMatchObject({ code: 'STEP_FAILED', attempts: 1 });
    expect(m.doGenerateCalls).toHaveLength(1);
  });
});
