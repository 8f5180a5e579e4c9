/**
 * `llmAgent`: a Flowstate agent whose work is one structured model call through the Vercel AI SDK, so any of its
 * providers (OpenAI, Anthropic, an OpenAI-compatible local server...) can fill a step. The deterministic steps
 * around it stay the judges: the agent only proposes, validated by its zod `output` schema.
 */
import { generateObject, type LanguageModel, type LanguageModelUsage } from 'ai';
import { type ZodType, z } from 'zod';
import type { AgentContext, AgentFunction, TokenUsage } from '../model/agent.js';
import { toLlmError } from './errors.js';

/** A piece of the request: fixed text, or made from the step's input. */
export type PromptSource<I> = string | ((input: I, ctx: AgentContext) => string | Promise<string>);

/**
 * What {@link llmAgent} takes.
 *
 * @template I The step's input, as the prompt functions receive it.
 * @template O The answer, as the `output` schema parses it (the step's output).
 *
 * @example
 * ```ts
 * const opts: LlmAgentOptions<{ text: string }, { label: string }> = {
 *   model: openai('gpt-4o-mini'), prompt: ({ text }) => `Label this: ${text}`, output: z.object({ label: z.string() }),
 * };
 * ```
 */
export interface LlmAgentOptions<I, O> {
  /** The AI SDK model: `openai('gpt-4o-mini')`, `anthropic('claude-sonnet-4-5')`, `createOpenAICompatible(...)(id)`. */
  readonly model: LanguageModel;
  /** The system message. */
  readonly system?: PromptSource<I>;
  /** The user message, usually made from the step's input. */
  readonly prompt: PromptSource<I>;
  /** The answer's schema: sent to the model and checked on its answer. */
  readonly output: ZodType<O>;
  /** The name errors and logs give the agent. @default the schema's name, else 'llm' */
  readonly name?: string;
  /**
   * Also state the answer's JSON Schema in the system message. Providers with structured outputs enforce the
   * schema themselves; many local servers only promise "some JSON" and need to be told which.
   * @default true
   */
  readonly schemaInPrompt?: boolean;
  /** Sampling temperature. @default the provider's */
  readonly temperature?: number;
  /** A bound on the answer's tokens. @default the provider's */
  readonly maxOutputTokens?: number;
}

/**
 * An agent that asks a model for a structured answer. Per attempt it makes one call: `ctx.signal` aborts it (the
 * step's timeout, a cancelled run); the answer is validated by `output`; its tokens are reported with
 * `ctx.report` (on the step's `done` / `attempt-failed` events and its progress). The AI SDK's own retries are off:
 * the engine owns retries, so a 429 or 5xx fails the attempt with a retryable {@link LlmCallError} carrying the
 * server's `retry-after` (the step's backoff waits at least that long), and a 4xx or an invalid answer fails it
 * with `retryable: false`. Give the step a `retry` policy to retry. The provider reads its API key from its usual
 * environment variable; the key never enters the step's input, events, log or store.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * const engine = createEngine({
 *   agents: { ...template.agents(db), 'query-generator': llmAgent({ model: openai('gpt-4o-mini'), prompt, output }) },
 * });
 * ```
 */
export function llmAgent<I = unknown, O = unknown>(options: LlmAgentOptions<I, O>): AgentFunction<I, O> {
  const name = options.name ?? 'llm';
  const schemaNote =
    options.schemaInPrompt === false
      ? ''
      : `Answer with one JSON object, and nothing else, that matches this JSON Schema:\n${JSON.stringify(
          z.toJSONSchema(options.output, { unrepresentable: 'any' }),
        )}`;
  return async (input, ctx) => {
    const given = options.system === undefined ? '' : await text(options.system, input, ctx);
    const system = [given, schemaNote].filter((s) => s !== '').join('\n\n');
    const prompt = await text(options.prompt, input, ctx);
    try {
      const result = await generateObject({
        model: options.model,
        schema: options.output,
        schemaName: name,
        ...(system ? { system } : {}),
        prompt,
        abortSignal: ctx.signal,
        // The engine retries (with the step's policy, its backoff and the server's retry-after), not the SDK.
        maxRetries: 0,
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.maxOutputTokens !== undefined ? { maxOutputTokens: options.maxOutputTokens } : {}),
      });
      report(ctx, result.usage);
      // What the provider ignored (a setting it lacks): worth a look when tuning, not a line on the user's screen.
      if (result.warnings?.length) ctx.logger.debug({ warnings: result.warnings }, 'model warnings');
      return result.object as O;
    } catch (error) {
      // An aborted attempt ends with the engine's reason (its timeout, the cancel), not the SDK's AbortError.
      if (ctx.signal.aborted) throw ctx.signal.reason;
      report(ctx, (error as { usage?: LanguageModelUsage }).usage);
      throw toLlmError(error, name, options.output);
    }
  };
}

async function text<I>(source: PromptSource<I>, input: I, ctx: AgentContext): Promise<string> {
  return typeof source === 'string' ? source : await source(input, ctx);
}

/** Tells the engine the tokens of a call (providers that report none count as 0). */
function report(ctx: AgentContext, usage: LanguageModelUsage | undefined): void {
  if (!usage) return;
  const inputTokens = usage.inputTokens ?? 0;
  const outputTokens = usage.outputTokens ?? 0;
  const counted: TokenUsage = {
    inputTokens,
    outputTokens,
    totalTokens: usage.totalTokens ?? inputTokens + outputTokens,
  };
  ctx.report?.({ usage: counted });
}
