/**
 * `flowstate paths <template|file.json> [--json] [--strategy shortest|simple] [--input <json>] [--outputs <json>]`:
 * prints the test paths of a workflow (see `flowstate/testing`). A template's paths start from its example input
 * unless `--input` is given. Exit 0 with the paths, 1 when the definition or its coverage has problems, 2 for a
 * usage mistake or a file that cannot be read, is not JSON or is not shaped like a workflow (definition-file.ts).
 */
import { parseArgs } from 'node:util';
import type { AnyWorkflowDefinition, WorkflowContext } from '../model/definition.js';
import { FlowstateError } from '../model/errors.js';
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
        input: { type: 'string' },
        outputs: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const ref = definitionRef(positionals);
    const strategy = values.strategy ?? 'shortest';
    if (strategy !== 'shortest' && strategy !== 'simple')
      throw new UsageError(`--strategy is 'shortest' or 'simple', got '${strategy}'`);
    const { definition, exampleInput, guards } = await loadDefinition(ref, sources);
    const input = values.input !== undefined ? parseJSON(values.input, '--input') : exampleInput;
    const paths = workflowPaths(definition, {
      strategy,
      ...(input !== undefined ? { input } : {}),
      ...(guards ? { guards } : {}),
      ...(values.outputs !== undefined
        ? { outputs: parseJSON(values.outputs, '--outputs') as Record<string, unknown[]> }
        : {}),
    });
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

function parseJSON(text: string, option: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${option} takes JSON, got '${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`);
  }
}
