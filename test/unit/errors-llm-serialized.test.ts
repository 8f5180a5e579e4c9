/**
 * The fields docs/ai.md promises on the LLM errors (`status`, `retryAfterMs`, `retryable` on `LlmCallError`, the
 * zod `issues` of `LlmOutputError`) survive serialization (snapshots, stores, workers) and the rebuild of the run's
 * error: found by a new user, a stored run's cause kept only the name, message and code.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LlmCallError, LlmOutputError } from '../../src/ai/index.js';
import { StepFailedError, workflow } from '../../src/index.js';
import { fromSerialized, serializeError } from '../../src/model/errors.js';
import { sqliteStore } from '../../src/persistence/sqlite-store.js';
import { testEngine } from '../support/engine.js';

const rateLimited = () =>
  new LlmCallError("LLM agent 'gen': Too Many Requests (HTTP 429)", {
    retryable: true,
    status: 429,
    retryAfterMs: 1500,
  });
const refused = () =>
  new LlmOutputError('gen', [
    { path: ['sql'], message: 'Invalid input: expected string, received undefined' },
    { path: ['params', 0], message: 'Too small' },
  ]);

/** Through JSON, as a store or a worker's job keeps it. */
const stored = (error: unknown) => JSON.parse(JSON.stringify(serializeError(error)));

describe('LLM errors, serialized and rebuilt', () => {
  it('an LlmCallError keeps status, retryAfterMs and retryable', () => {
    expect(stored(rateLimited())).toEqual({
      name: 'LlmCallError',
      message: "LLM agent 'gen': Too Many Requests (HTTP 429)",
      code: 'LLM_CALL_FAILED',
      status: 429,
      retryAfterMs: 1500,
      retryable: true,
    });
  });

  it('an LlmOutputError keeps its issues with their paths', () => {
    expect(stored(refused())).toMatchObject({
      name: 'LlmOutputError',
      code: 'LLM_OUTPUT_INVALID',
      retryable: false,
      issues: [
        { path: ['sql'], message: 'Invalid input: expected string, received undefined' },
        { path: ['params', 0], message: 'Too small' },
      ],
    });
  });

  it('a step failure rebuilt from its stored form has them on its cause', () => {
    for (const [cause, fields] of [
      [rateLimited(), { status: 429, retryAfterMs: 1500, retryable: true }],
      [refused(), { issues: refused().issues, retryable: false }],
    ] as const) {
      const failure = new StepFailedError("Step 'gen' failed after 1 attempt", {
        stepPath: 'gen',
        attempts: 1,
        cause,
      });
      const rebuilt = fromSerialized(stored(failure), 'run-1');
      expect(rebuilt).toBeInstanceOf(StepFailedError);
      expect(rebuilt.cause).toBeInstanceOf(Error);
      expect(rebuilt.cause).toMatchObject({
        name: cause.name,
        code: cause.code,
        message: cause.message,
        ...fields,
      });
    }
  });

  it('keeps only well-formed values: an agent error claiming the code carries nothing else through', () => {
    const forged = Object.assign(new Error('x'), {
      code: 'LLM_CALL_FAILED',
      status: 'secret',
      retryAfterMs: Number.NaN,
      retryable: 'yes',
      issues: [{ path: [Symbol('s')], message: 'm' }],
      headers: { authorization: 'Bearer sk-123' },
    });
    expect(stored(forged)).toEqual({ name: 'Error', message: 'x', code: 'LLM_CALL_FAILED' });
  });

  it('a run failed by an LLM agent: its stored error, rebuilt, still says the status', async () => {
    const store = sqliteStore(join(mkdtempSync(join(tmpdir(), 'flowstate-llm-err-')), 'runs.db'));
    const engine = testEngine({ store, agents: { gen: () => Promise.reject(rateLimited()) } });
    try {
      const wf = workflow('llm-fails').step('gen').build();
      const run = engine.start(wf, {});
      const error = await run.result.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepFailedError);
      expect((error as Error).cause).toMatchObject({ name: 'LlmCallError', status: 429, retryAfterMs: 1500 });
      const kept = await store.getRun(run.id);
      expect(kept?.error?.cause).toMatchObject({ code: 'LLM_CALL_FAILED', status: 429, retryAfterMs: 1500 });
    } finally {
      await engine.close();
    }
  });
});
