/** The model type every LLM seam takes. */
import type { llmAgent } from '../../src/ai/index.js';

/** The model an LLM seam takes: the AI SDK's `LanguageModel` (as `llmAgent` does). */
export type Model = Parameters<typeof llmAgent>[0]['model'];
