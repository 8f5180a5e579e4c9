import { MockLanguageModelV3 } from 'ai/test';

/**
 * A mock AI SDK model answering `answers` (as JSON) in turn, the last one again once they run out, and recording
 * the prompts it was sent.
 */
export function mockModel(...answers: unknown[]) {
  const prompts: string[] = [];
  const mock = new MockLanguageModelV3({
    doGenerate: async (options) => {
      prompts.push(JSON.stringify(options.prompt));
      const answer = answers[Math.min(prompts.length - 1, answers.length - 1)];
      return {
        content: [{ type: 'text', text: JSON.stringify(answer) }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: 100, noCache: 100, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 20, text: 20, reasoning: 0 },
        },
        warnings: [],
      };
    },
  });
  return { mock, prompts };
}
