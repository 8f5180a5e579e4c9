/**
 * The shape every template exports, so the CLI (`flowstate list | describe | run`) and the showcase can treat the
 * five templates alike: a definition, the factory of its default agents for a database, and an example input.
 */
import type { Database } from '../src/db/port.js';
import type { AgentRegistry, EngineOptions, WorkflowDefinition } from '../src/index.js';

/**
 * A registry entry for one template.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents: template.agents(db) });
 * const report = await engine.start(template.definition, template.exampleInput).result;
 * ```
 *
 * @template I - the template's input (what `flowstate run <id> --input` takes)
 * @template O - its report, the run's output
 */
export interface Template<I = unknown, O = unknown> {
  /** The id the CLI takes (`flowstate run schema-analysis`); equal to the definition's id. */
  readonly id: string;
  /** One line for `flowstate list`. */
  readonly description: string;
  /** The workflow; its input schema validates `--input`, its output is the report `--json` prints. */
  readonly definition: WorkflowDefinition<I, O>;
  /** The default agents, doing the real work on `db`. Register them with `createEngine({ agents })`. */
  readonly agents: (db: Database) => AgentRegistry;
  /** An input that works on the sample database (`seedSample`), used by the showcase and `describe`. */
  readonly exampleInput: I;
  /**
   * Guards the definition names that the engine must provide (`createEngine({ guards })`), if any.
   * Templates prefer data-path guards, so this is usually absent.
   */
  readonly guards?: EngineGuards;
}

/** Guards by name, as `createEngine({ guards })` takes them. */
export type EngineGuards = EngineOptions['guards'];

/** A template whose input and output types are not known here (what the registry list holds). */
// biome-ignore lint/suspicious/noExplicitAny: variance escape hatch so every template fits the list
export type AnyTemplate = Template<any, any>;
