import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { queryGeneratorLlm } from '../../machines/llm.js';
import { type QueryReport, queryGeneration, template } from '../../machines/query-generation.js';
import { resolveModel } from '../../src/ai/index.js';
import { type Database, pgliteDatabase } from '../../src/db/index.js';
import { seedSample } from '../../src/db/sample/index.js';
import type { StepLogEvent, WorkflowDefinition } from '../../src/index.js';
import { fromJSON } from '../../src/json.js';
import { testEngine } from '../support/engine.js';
import { type FakeReply, fakeOpenAI } from '../support/fake-openai.js';

// The query-generation template's `query-generator` step filled by llmAgent, over real HTTP, against a fake
// OpenAI-compatible server on 127.0.0.1: the real @ai-sdk/openai-compatible client, the engine's retry policy and
// timeouts, PGlite with the sample data. No internet.

const SHIPPED = {
  sql: 'SELECT count(*) AS count FROM "public"."orders" t0 WHERE t0."status" = $1',
  params: ['shipped'],
  explanation: 'The number of orders whose status is shipped',
};
const KEY = 'sk-fake-0123456789abcdef';

let db: Database;
let shipped: number;
beforeAll(async () => {
  db = await pgliteDatabase();
  await seedSample(db);
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM orders WHERE status = 'shipped'",
  );
  shipped = rows[0]?.n ?? -1;
}, 60_000);
afterAll(() => db.close());
afterEach(() => vi.unstubAllEnvs());

/** The template's definition with the generate step's timeout and retry policy changed (through its JSON form). */
function withGenerate(patch: { timeoutMs?: number; retry?: object }): WorkflowDefinition {
  const json = JSON.parse(JSON.stringify(queryGeneration));
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.agent === 'query-generator') Object.assign(o, patch);
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(json);
  return fromJSON(json);
}

async function ask(script: FakeReply[], definition: WorkflowDefinition = queryGeneration) {
  vi.stubEnv('OPENAI_COMPATIBLE_API_KEY', KEY);
  const server = await fakeOpenAI(script);
  try {
    const model = await resolveModel('openai-compatible:fake-sql', { baseURL: server.url });
    const agents = { ...template.agents(db), 'query-generator': queryGeneratorLlm(model) };
    const run = testEngine({ agents }).start(definition, { request: 'How many orders have status shipped?' });
    const events: StepLogEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result.then(
      (report) => ({ report: report as QueryReport, error: undefined }),
      (error: unknown) => ({ report: undefined, error: error as Error & { code?: string } }),
    );
    return { ...result, events, requests: server.requests };
  } finally {
    await server.close();
  }
}

describe('llmAgent as the query generator, over HTTP to a fake OpenAI-compatible server', () => {
  it('answers with the checked query; tokens on the step events; the key only in the Authorization header', async () => {
    const { report, events, requests } = await ask([{ kind: 'json', content: SHIPPED, usage: [300, 40] }]);
    expect(report?.status).toBe('answered');
    expect(report?.source).toBe('generator');
    expect(report?.sample).toEqual([{ count: shipped }]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.path).toBe('/v1/chat/completions');
    expect(requests[0]?.body.model).toBe('fake-sql');
    expect(requests[0]?.authorization).toBe(`Bearer ${KEY}`);
    // The answer's schema as response_format (structured outputs), beside the system message's statement of it.
    expect(requests[0]?.body.response_format).toMatchObject({ type: 'json_schema' });
    // The prompt carries the request and the schema; the answer's JSON Schema is in the system message.
    const prompt = JSON.stringify(requests[0]?.body.messages);
    expect(prompt).toContain('How many orders have status shipped?');
    expect(prompt).toContain('orders');
    const done = events.find((e) => e.type === 'done' && e.usage !== undefined);
    expect(done).toMatchObject({ usage: { inputTokens: 300, outputTokens: 40, totalTokens: 340 } });
    expect(JSON.stringify({ report, events })).not.toContain(KEY);
  });

  it('waits out a 429 retry-after through the step retry policy, then answers', async () => {
    const { report, events, requests } = await ask([
      { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
      { kind: 'json', content: SHIPPED },
    ]);
    expect(report?.status).toBe('answered');
    expect(requests).toHaveLength(2);
    const retry = events.find((e) => e.type === 'retry-scheduled');
    // The policy's 500 ms backoff, lengthened to the server's 1 s.
    expect(retry).toMatchObject({ delayMs: 1000 });
    expect(events.find((e) => e.type === 'attempt-failed')).toMatchObject({ code: 'LLM_CALL_FAILED' });
  });

  it('retries a 500 as the policy says (3 attempts), then fails the run with the HTTP error as cause', async () => {
    const { error, requests } = await ask([{ kind: 'status', status: 500 }]);
    expect(error).toMatchObject({ code: 'STEP_FAILED', attempts: 3 });
    expect((error?.cause as Error | undefined)?.message).toContain('HTTP 500');
    expect(requests).toHaveLength(3);
  }, 20_000);

  it('does not retry a 401', async () => {
    const { error, requests } = await ask([{ kind: 'status', status: 401 }]);
    expect(error).toMatchObject({ code: 'STEP_FAILED', attempts: 1 });
    expect(requests).toHaveLength(1);
  });

  it('aborts a slow response at the step timeout (the HTTP request is closed)', async () => {
    const definition = withGenerate({ timeoutMs: 300, retry: { attempts: 1 } });
    const started = Date.now();
    const { error, events, requests } = await ask([{ kind: 'hang' }], definition);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error).toMatchObject({ code: 'STEP_FAILED' });
    expect(events.some((e) => e.type === 'timed-out' && e.of === 'attempt')).toBe(true);
    await vi.waitFor(() => expect(requests[0]?.closedEarly).toBe(true));
  });
});
