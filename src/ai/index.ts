/**
 * `flowstate/ai`: LLM agents on the Vercel AI SDK. `llmAgent` makes a step's agent out of a model, a prompt and a
 * zod schema; `resolveModel` names a model as `<provider>:<model>` (what the CLI's `--model` takes). See docs/ai.md.
 */
export { LlmCallError, LlmOutputError, retryAfterMs } from './errors.js';
export { type LlmAgentOptions, llmAgent, type PromptSource } from './llm-agent.js';
export { MODEL_PROVIDERS, type ResolveModelOptions, resolveModel } from './models.js';
