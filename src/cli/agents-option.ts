/**
 * `flowstate run`'s `--agents <module>` and `--model <provider:model>` (with `--model-url <base URL>`): the agents
 * merged over a template's defaults. The AI SDK is loaded only when `--model` is given, so a plain `run` starts as
 * fast as before.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyTemplate } from '../../machines/index.js';
import type { Database } from '../db/port.js';
import type { AgentRegistry } from '../model/agent.js';
import { ConfigurationError } from '../model/errors.js';
import { UsageError } from './paths-command.js';

/** The options that change a template's agents, from the command line. */
export interface AgentsOptions {
  /** `--agents`: a module exporting a registry (`agents` or default), or a function `(db) => registry`. */
  readonly agents?: string | undefined;
  /** `--model`: `<provider>:<model>`, filling the template's LLM seam (docs/templates.md). */
  readonly model?: string | undefined;
  /** `--model-url`: the base URL of an OpenAI-compatible server (`http://127.0.0.1:8080/v1`). */
  readonly modelUrl?: string | undefined;
}

/**
 * The agents that replace some of the template's defaults, by name: `--model`'s first, then `--agents`' (the
 * module, being explicit, wins). Empty when neither option is given. A usage mistake (a template without an LLM
 * seam, a bad model spec, `--model-url` alone) throws a {@link UsageError}; a module that does not load, a `ConfigurationError` (exit 1).
 *
 * @example
 * ```ts
 * const agents = { ...template.agents(db), ...(await agentOverrides(template, db, { model: 'openai:gpt-4o-mini' })) };
 * ```
 */
export async function agentOverrides(
  template: AnyTemplate,
  db: Database,
  options: AgentsOptions,
): Promise<AgentRegistry> {
  const out: Record<string, AgentRegistry[string]> = {};
  if (options.modelUrl !== undefined && options.model === undefined) {
    throw new UsageError('--model-url needs --model <provider:model>');
  }
  if (options.model !== undefined) {
    const [{ resolveModel }, { llmAgentsFor, LLM_TEMPLATES }] = await Promise.all([
      import('../ai/index.js'),
      import('../../machines/llm.js'),
    ]);
    if (!LLM_TEMPLATES.includes(template.id)) {
      throw new UsageError(
        `--model: template '${template.id}' has no step an LLM fills (${LLM_TEMPLATES.join(', ')} do${LLM_TEMPLATES.length === 1 ? 'es' : ''}; docs/templates.md)`,
      );
    }
    // The AI SDK prints its warnings on the console; stdout is the report's (`--json`): they go to the log instead.
    globalThis.AI_SDK_LOG_WARNINGS ??= false;
    let model: Awaited<ReturnType<typeof resolveModel>>;
    try {
      model = await resolveModel(options.model, options.modelUrl ? { baseURL: options.modelUrl } : {});
    } catch (error) {
      throw new UsageError(`--model: ${(error as Error).message}`);
    }
    Object.assign(out, llmAgentsFor(template.id, model));
  }
  if (options.agents !== undefined) Object.assign(out, await loadAgentsModule(options.agents, db));
  return out;
}

/** The registry a module exports: `agents` or its default, an object or a function of the database. */
async function loadAgentsModule(spec: string, db: Database): Promise<AgentRegistry> {
  let module: { agents?: unknown; default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(spec)).href)) as typeof module;
  } catch (error) {
    throw new ConfigurationError(`cannot load agents from '${spec}': ${(error as Error).message}`);
  }
  const exported = module.agents ?? module.default;
  const registry: unknown = typeof exported === 'function' ? await exported(db) : exported;
  if (typeof registry !== 'object' || registry === null) {
    throw new ConfigurationError(
      `cannot load agents from '${spec}': it exports no \`agents\` registry (nor a default one)`,
    );
  }
  return registry as AgentRegistry;
}
