/**
 * `flowstate run`'s `--agents <module>` and `--model <provider:model>` (with `--model-url <base URL>`): the agents
 * merged over a template's defaults, checked before the database opens. The AI SDK is loaded only when `--model` is
 * given, so a plain `run` starts as fast as before.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyTemplate } from '../../machines/index.js';
import type { Database } from '../db/port.js';
import type { AgentRegistry } from '../model/agent.js';
import { ConfigurationError } from '../model/errors.js';
import { agentNames } from '../model/walk.js';
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

/** The agents of {@link prepareAgents}, made once the database is open (a module may export a function of it). */
export type AgentsFor = (db: Database) => Promise<AgentRegistry>;

/**
 * Checks `--model`, `--model-url` and `--agents` before anything starts (PGlite takes seconds: a mistyped model was
 * said only after it), and returns what makes the agents that replace some of the template's defaults, by name:
 * `--model`'s first, then `--agents`' (the module, being explicit, wins); empty when neither option is given. A usage
 * mistake (a template without an LLM seam, a bad model spec, `--model-url` alone) throws a {@link UsageError}; a
 * module that does not load, a `ConfigurationError` (exit 1).
 *
 * @example
 * ```ts
 * const agentsFor = await prepareAgents(template, { model: 'openai:gpt-4o-mini' }); // before the database opens
 * const agents = { ...template.agents(db), ...(await agentsFor(db)) };
 * ```
 */
export async function prepareAgents(template: AnyTemplate, options: AgentsOptions): Promise<AgentsFor> {
  const fromModel = await modelAgents(template, options);
  const spec = options.agents;
  if (spec === undefined) return async () => fromModel;
  const exported = await importAgents(spec);
  // A registry is checked now; a function of the database, once it has made its registry.
  if (typeof exported !== 'function') checkNames(template, spec, await registryOf(exported, spec));
  return async (db) => {
    const registry = await registryOf(exported, spec, db);
    checkNames(template, spec, registry);
    return { ...fromModel, ...registry };
  };
}

/**
 * Refuses an agent no step of the template uses: registered by name, a misspelled one would be ignored without a
 * word and the template's default would run in its place.
 */
function checkNames(template: AnyTemplate, spec: string, registry: AgentRegistry): void {
  const known = agentNames(template.definition.spec);
  const unknown = Object.keys(registry).filter((name) => !known.has(name));
  if (unknown.length === 0) return;
  const names = unknown.map((name) => `'${name}'`).join(', ');
  const what = unknown.length === 1 ? `agent ${names}, which no step` : `agents ${names}, which no steps`;
  throw new UsageError(
    `--agents: '${spec}' exports ${what} of template '${template.id}' use${unknown.length === 1 ? 's' : ''} (its agents: ${[...known].join(', ')})`,
  );
}

/** The agents `--model` fills in the template (none without it); a {@link UsageError} for any mistake in it. */
async function modelAgents(template: AnyTemplate, options: AgentsOptions): Promise<AgentRegistry> {
  if (options.modelUrl !== undefined && options.model === undefined) {
    throw new UsageError('--model-url needs --model <provider:model>');
  }
  if (options.model === undefined) return {};
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
    throw new UsageError(`--model: ${(error as Error).message.replace(/^\[\w+\] /, '')}`);
  }
  return llmAgentsFor(template.id, model);
}

/** What an agents module exports (`agents`, else its default): checked once the database is open. */
async function importAgents(spec: string): Promise<unknown> {
  let module: { agents?: unknown; default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(spec)).href)) as typeof module;
  } catch (error) {
    throw new ConfigurationError(`cannot load agents from '${spec}': ${(error as Error).message}`);
  }
  return module.agents ?? module.default;
}

/** The registry a module exports: an object, or a function of the database (called only when `db` is given). */
async function registryOf(exported: unknown, spec: string, db?: Database): Promise<AgentRegistry> {
  const registry: unknown = typeof exported === 'function' ? await exported(db) : exported;
  if (typeof registry !== 'object' || registry === null) {
    throw new ConfigurationError(
      `cannot load agents from '${spec}': it exports no \`agents\` registry (nor a default one)`,
    );
  }
  return registry as AgentRegistry;
}
