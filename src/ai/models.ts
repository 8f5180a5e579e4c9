/**
 * A model named as `<provider>:<model>` (the CLI's `--model`), loaded from its AI SDK provider package. Only the
 * OpenAI-compatible provider is a dependency; `@ai-sdk/openai` and `@ai-sdk/anthropic` are optional peers, loaded
 * only when named, so a user who plugs no hosted model installs neither.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { ConfigurationError } from '../model/errors.js';

/** Options of {@link resolveModel}. */
export interface ResolveModelOptions {
  /** The server's base URL, such as `http://127.0.0.1:8080/v1` (required for `openai-compatible`). */
  readonly baseURL?: string;
}

/** The providers {@link resolveModel} knows, with the environment variable each reads its key from. */
export const MODEL_PROVIDERS = {
  'openai-compatible': 'OPENAI_COMPATIBLE_API_KEY',
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
} as const;

/**
 * The AI SDK model a `<provider>:<model>` spec names. Keys come from each provider's usual environment variable
 * ({@link MODEL_PROVIDERS}; an OpenAI-compatible local server usually needs none), never from the spec.
 *
 * @example
 * ```ts
 * const model = await resolveModel('openai-compatible:qwen2.5-coder', { baseURL: 'http://127.0.0.1:8080/v1' });
 * ```
 */
export async function resolveModel(spec: string, options: ResolveModelOptions = {}): Promise<LanguageModel> {
  const at = spec.indexOf(':');
  const provider = at > 0 ? spec.slice(0, at) : '';
  const id = at > 0 ? spec.slice(at + 1) : '';
  if (!id || !Object.hasOwn(MODEL_PROVIDERS, provider)) {
    throw new ConfigurationError(
      `Expected a model as <provider>:<model> with provider one of ${Object.keys(MODEL_PROVIDERS).join(', ')}, got '${spec}'`,
    );
  }
  const baseURL = options.baseURL;
  if (provider === 'openai-compatible') {
    if (!baseURL) throw new ConfigurationError(`Model '${spec}' needs a base URL (--model-url)`);
    const apiKey = process.env.OPENAI_COMPATIBLE_API_KEY;
    return createOpenAICompatible({
      name: 'openai-compatible',
      baseURL,
      ...(apiKey ? { apiKey } : {}),
      // `response_format: json_schema`: llama.cpp, vLLM, Ollama and LM Studio take it (the schema is also stated
      // in the system message, for a server that does not).
      supportsStructuredOutputs: true,
    }).chatModel(id);
  }
  // Optional peers: loaded by a name the bundler and the type checker do not follow.
  const pkg = provider === 'openai' ? '@ai-sdk/openai' : '@ai-sdk/anthropic';
  const factory = provider === 'openai' ? 'createOpenAI' : 'createAnthropic';
  let mod: Record<string, (settings: object) => (id: string) => LanguageModel>;
  try {
    mod = await import(pkg);
  } catch {
    throw new ConfigurationError(`Model '${spec}' needs the package ${pkg}: npm install ${pkg}`);
  }
  const create = mod[factory] as (settings: object) => (id: string) => LanguageModel;
  return create(baseURL ? { baseURL } : {})(id);
}
