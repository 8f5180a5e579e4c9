import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeOpenAI } from '../support/fake-openai.js';

// docs/ai.md shows docs/ai/triage.ts; here it runs against a fake OpenAI-compatible server on 127.0.0.1.

describe('docs/ai.md', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('shows docs/ai/triage.ts, character for character, as its first code block', () => {
    const doc = readFileSync(new URL('../../docs/ai.md', import.meta.url), 'utf8');
    const first = doc.match(/^```ts\n([\s\S]*?)^```$/m)?.[1];
    expect(first).toBe(readFileSync(new URL('../../docs/ai/triage.ts', import.meta.url), 'utf8'));
  });

  it('runs docs/ai/triage.ts: the answer and its tokens', async () => {
    const server = await fakeOpenAI([
      { kind: 'json', content: { team: 'billing', urgent: true }, usage: [120, 9] },
    ]);
    try {
      vi.stubEnv('LLM_URL', server.url);
      const logs: unknown[][] = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args));
      await import('../../docs/ai/triage.js');
      expect(logs).toEqual([['triage: 129 tokens'], [{ triage: { team: 'billing', urgent: true } }]]);
      expect(server.requests[0]?.body.model).toBe('qwen2.5-7b-instruct');
    } finally {
      await server.close();
    }
  });
});
