/**
 * `flowstate paths <template|file.json> [--json] [--strategy shortest|simple] [--input <json>]... [--outputs <json>]
 * [--guards <module>]`: prints the test paths of a workflow (see `flowstate/testing`). A template's paths start from
 * its example input unless `--input` is given; `--input` given more than once walks each input (`inputs`).
 * `--guards` loads the guards and mappings a workflow file names (registered in code with `createEngine`). Exit 0
 * with the paths, 1 when the definition or its coverage has problems or the module does not load, 2 for a usage
 * mistake (an input the schema refuses, a registered name nothing gives) or a file that cannot be read, is not JSON
 * or is not shaped like a workflow (definition-file.ts).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AnyWorkflowDefinition, WorkflowContext } from '../model/definition.js';
import { ConfigurationError, FlowstateError, formatPath } from '../model/errors.js';
import { isDataPath } from '../model/names.js';
import { walkNodes } from '../model/walk.js';
import { workflowPaths } from '../testing/paths.js';
import { InputFileError, readDefinitionFile } from './definition-file.js';
import type { CliIO } from './demo-command.js';
import { readablePathName } from './names.js';

/**
 * A template as the commands need it (the shape of `machines/`' registry entries).
 *
 * @example
 * ```ts
 * await runPathsCommand(['schema-analysis'], io, { templates: [{ id: 'schema-analysis', definition, exampleInput }] });
 * ```
 */
export interface TemplateSource {
  readonly id: string;
  readonly definition: AnyWorkflowDefinition;
  /** The input paths start from when `--input` is not given. */
  readonly exampleInput?: unknown;
  /** Guards the engine registers for it. */
  // biome-ignore lint/suspicious/noExplicitAny: guards are shared by workflows of any input type
  readonly guards?: Readonly<Record<string, (ctx: WorkflowContext<any>) => boolean>> | undefined;
}

/**
 * What a command can resolve a name to.
 *
 * @example
 * ```ts
 * await runVerifyCommand(['schema-analysis'], io, { templates });
 * ```
 */
export interface DefinitionSources {
  readonly templates?: readonly TemplateSource[];
}

/**
 * A usage mistake: exit code 2 with one line.
 *
 * @example
 * ```ts
 * throw new UsageError("missing <template|file.json>"); // exit code 2
 * ```
 */
export class UsageError extends Error {}

/**
 * Resolves `<template|file.json>`: a file ending in `.json` is read with `fromJSON`, anything else names a template.
 * A file that cannot be read, is not JSON or is not shaped like a workflow throws an `InputFileError` (exit 2).
 *
 * @example
 * ```ts
 * const { definition } = await loadDefinition('review.workflow.json');
 * const { definition: t, exampleInput } = await loadDefinition('schema-analysis', { templates });
 * ```
 */
export async function loadDefinition(ref: string, sources: DefinitionSources = {}): Promise<TemplateSource> {
  if (ref.endsWith('.json')) {
    const definition = await readDefinitionFile(ref);
    return { id: definition.id, definition };
  }
  const templates = sources.templates ?? [];
  const found = templates.find((t) => t.id === ref);
  if (!found) {
    const known = templates.map((t) => t.id).join(', ') || 'none';
    throw new UsageError(`unknown template '${ref}' (templates: ${known}; or give a .json file)`);
  }
  return found;
}

/**
 * The one `<template|file.json>` positional of a command on one definition. Throws a `UsageError` when it is
 * missing or followed by another.
 *
 * @example
 * ```ts
 * const ref = definitionRef(parseArgs({ args, options, allowPositionals: true }).positionals);
 * ```
 */
export function definitionRef(positionals: readonly string[]): string {
  const [ref, ...extra] = positionals;
  if (ref === undefined) throw new UsageError('missing <template|file.json>');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  return ref;
}

/**
 * Runs `flowstate paths` on the arguments after `paths` and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runPathsCommand(['review.workflow.json', '--json'], { out: console.log, err: console.error });
 * ```
 */
export async function runPathsCommand(
  args: readonly string[],
  io: CliIO,
  sources: DefinitionSources = {},
): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        json: { type: 'boolean' },
        strategy: { type: 'string' },
        input: { type: 'string', multiple: true },
        outputs: { type: 'string' },
        guards: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const ref = definitionRef(positionals);
    const strategy = values.strategy ?? 'shortest';
    if (strategy !== 'shortest' && strategy !== 'simple')
      throw new UsageError(`--strategy is 'shortest' or 'simple', got '${strategy}'`);
    const { definition, exampleInput, guards: own } = await loadDefinition(ref, sources);
    const given = (values.input ?? []).map((text) => parseJSON(text, '--input'));
    const registry = values.guards !== undefined ? await loadRegistry(values.guards) : {};
    const inputs = given.length > 0 ? given : [exampleInput ?? {}];
    for (const [i, input] of inputs.entries())
      checkInput(definition, input, given.length > 0, i, inputs.length);
    const guards = { ...own, ...registry.guards };
    const mappings = { ...registry.mappings };
    checkRegistered(definition, guards, mappings, values.guards);
    const outputs =
      values.outputs !== undefined
        ? (parseJSON(values.outputs, '--outputs') as Record<string, unknown[]>)
        : undefined;
    const paths = inCliTerms(() =>
      workflowPaths(definition, {
        strategy,
        ...(inputs.length === 1 ? { input: inputs[0] } : { inputs }),
        guards,
        mappings,
        ...(outputs ? { outputs } : {}),
      }),
    );
    if (values.json) {
      io.out(JSON.stringify(paths, null, 2));
      return 0;
    }
    io.out(`${definition.id}: ${paths.length} path${paths.length === 1 ? '' : 's'} (${strategy})`);
    const width = String(paths.length).length;
    paths.forEach((p, i) => {
      const name = readablePathName(definition, p.name);
      io.out(`  ${String(i + 1).padStart(width)}. ${name}${p.end.status === 'done' ? ' -> done' : ''}`);
    });
    return 0;
  } catch (error) {
    return fail(error, io);
  }
}

/**
 * Prints a command's error and returns its exit code: 2 for usage and for a user's file that cannot be used, 1 for
 * the rest.
 *
 * @example
 * ```ts
 * try {
 *   return await run(args);
 * } catch (error) {
 *   return fail(error, io);
 * }
 * ```
 */
export function fail(error: unknown, io: CliIO): number {
  if (
    error instanceof UsageError ||
    (error as { code?: unknown })?.code?.toString().startsWith('ERR_PARSE_ARGS')
  ) {
    io.err(`flowstate: ${(error as Error).message}. Run 'flowstate --help' for usage.`);
    return 2;
  }
  if (error instanceof InputFileError) {
    // The command line was right: the file is what to fix, so no pointer to the usage.
    io.err(`flowstate: ${error.message}`);
    return 2;
  }
  if (error instanceof FlowstateError) {
    io.err(`flowstate: ${error.message}`);
    return 1;
  }
  throw error;
}

/** Runs `workflowPaths`, its fixes said as options of this command (`--input`, `--outputs`) rather than code. */
function inCliTerms<T>(walk: () => T): T {
  try {
    return walk();
  } catch (error) {
    if (!(error instanceof ConfigurationError) || !error.message.includes('no path reaches')) throw error;
    const message = error.message
      .replaceAll('workflowPaths(definition, { inputs: [a, b] })', "--input '<json>' once per input")
      .replaceAll('(`inputs: [a, b]`)', '(--input once per input)')
      .replaceAll('workflowPaths(definition, { outputs: { step: [...] } })', `--outputs '{"<step>": [...]}'`)
      .replace(
        ', check the definition with verify(), or pass allowUncovered: true',
        ', or check the definition with flowstate verify',
      );
    throw new ConfigurationError(message.replace(/^\[\w+\] /, ''), { cause: error });
  }
}

/** What a `--guards` module gives: the guards and mappings `createEngine({ guards, mappings })` would register. */
interface Registry {
  // biome-ignore lint/suspicious/noExplicitAny: guards are shared by workflows of any input type
  readonly guards?: Readonly<Record<string, (ctx: WorkflowContext<any>) => boolean>>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  readonly mappings?: Readonly<Record<string, (ctx: WorkflowContext<any>) => unknown>>;
}

/**
 * Loads a `--guards` module: its `guards` and `mappings` exports (or a default export holding them). A module
 * that does not load is a `ConfigurationError` (exit 1, as for `run --agents`); one that exports neither, a usage
 * mistake.
 */
async function loadRegistry(spec: string): Promise<Registry> {
  let module: Registry & { default?: Registry };
  try {
    module = (await import(pathToFileURL(resolve(spec)).href)) as typeof module;
  } catch (error) {
    const message = (error as Error).message;
    const hint = /Unknown file extension "\.(c|m)?tsx?"/.test(message)
      ? ': Node loads JavaScript only: compile it first, or run the CLI under tsx (npx tsx node_modules/flowstate/dist/bundle/cli.js paths ...)'
      : '';
    throw new ConfigurationError(`--guards: cannot load '${spec}' (${message})${hint}`);
  }
  const found = module.guards || module.mappings ? module : (module.default ?? {});
  const registry: Registry = {
    ...(isRecord(found.guards) ? { guards: found.guards } : {}),
    ...(isRecord(found.mappings) ? { mappings: found.mappings } : {}),
  };
  if (!registry.guards && !registry.mappings)
    throw new UsageError(
      `--guards: '${spec}' exports no \`guards\` or \`mappings\` object (nor a default one holding them)`,
    );
  return registry;
}

function isRecord(value: unknown): value is Readonly<Record<string, never>> {
  return typeof value === 'object' && value !== null;
}

/**
 * Refuses a workflow that names a guard or mapping nothing gives (a JSON file names them; their code is registered
 * with `createEngine`), before the walk would stop on the first: every missing name is said, with the option.
 */
function checkRegistered(
  definition: AnyWorkflowDefinition,
  guards: Readonly<Record<string, unknown>>,
  mappings: Readonly<Record<string, unknown>>,
  module: string | undefined,
): void {
  const own = definition.spec.options.guards ?? {};
  const missing = new Set<string>();
  const guard = (ref: unknown) => {
    if (
      typeof ref === 'string' &&
      !isDataPath(ref) &&
      !Object.hasOwn(guards, ref) &&
      !Object.hasOwn(own, ref)
    )
      missing.add(`guard '${ref}'`);
  };
  const mapping = (ref: unknown) => {
    if (typeof ref === 'string' && !isDataPath(ref) && !Object.hasOwn(mappings, ref))
      missing.add(`mapping '${ref}'`);
  };
  mapping(definition.spec.options.result);
  walkNodes(definition.spec.nodes, (node) => {
    if (node.kind === 'step') mapping(node.options.input);
    if (node.kind === 'map') {
      mapping(node.items);
      mapping(node.step.input);
    }
    if (node.kind === 'branch') for (const arm of node.arms) guard(arm.when);
    if (node.kind === 'loop') guard(node.until);
  });
  if (missing.size === 0) return;
  const list = [...missing];
  const names = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`;
  throw new UsageError(
    module === undefined
      ? `workflow '${definition.id}' names ${names}, registered in code: give ${missing.size === 1 ? 'it' : 'them'} with --guards <module> (a JavaScript module exporting \`guards\` and \`mappings\`, as given to createEngine), or use workflowPaths from code with them`
      : `--guards: '${module}' does not export ${names}, which workflow '${definition.id}' names`,
  );
}

/**
 * Refuses an input the workflow's schema does not accept before the walk, each problem with its zod path: without
 * `--input`, the fix is the flag.
 */
function checkInput(
  definition: AnyWorkflowDefinition,
  input: unknown,
  given: boolean,
  i: number,
  count: number,
): void {
  const schema = definition.spec.options.input;
  const parsed = schema?.safeParse(input);
  if (!parsed || parsed.success) return;
  const problems = parsed.error.issues
    .map(
      (issue) =>
        `${formatPath(['input', ...issue.path.map((k) => (typeof k === 'number' ? k : String(k)))])}: ${issue.message}`,
    )
    .join('; ');
  if (!given)
    throw new UsageError(
      `workflow '${definition.id}' takes an input its schema checks (${problems}): give one with --input '<json>'`,
    );
  const which = count > 1 ? `--input #${i + 1}` : '--input';
  throw new UsageError(`${which} does not match workflow '${definition.id}''s input schema: ${problems}`);
}

function parseJSON(text: string, option: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${option} takes JSON, got '${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`);
  }
}
