/**
 * A workflow definition from a user's JSON file, for `flowstate verify` and `flowstate paths`. A file that cannot be
 * read, is not JSON or is not shaped like a workflow is bad input, as a missing file is: an {@link InputFileError}
 * (exit 2) in one line naming the file and where it went wrong. A file shaped like a workflow whose definition has
 * problems (a mapping naming no step, a duplicate name) is what `verify` is for: `fromJSON`'s
 * `WorkflowDefinitionError` (exit 1).
 */
import { readFile } from 'node:fs/promises';
import { fromJSON } from '../dsl/json.js';
import { inspectJSON, resolveLimits, zodProblems } from '../dsl/json-guard.js';
import { WorkflowJSONSchema } from '../dsl/json-schema.js';
import type { WorkflowDefinition } from '../model/definition.js';
import { type DefinitionProblem, formatPath } from '../model/errors.js';
import { jsonSyntaxError } from './json-location.js';

/**
 * A user's file that cannot be used: unreadable, not JSON, or not the shape it must have. Exit code 2 with its
 * message, which names the file; no usage hint, as the command line itself was right.
 *
 * @example
 * ```ts
 * throw new InputFileError('w.json', "'w.json' is not valid JSON: Unexpected end of JSON input at line 3, column 1");
 * ```
 */
export class InputFileError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(message);
    this.name = 'InputFileError';
    this.file = file;
  }
}

/** Reads a file as text, or throws an {@link InputFileError} saying why it cannot be read. */
async function readUserFile(file: string): Promise<string> {
  try {
    // A byte-order mark (Notepad writes one) is no content, but JSON.parse refuses it.
    return (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (error) {
    throw new InputFileError(file, `cannot read '${file}': ${readFailure(error)}`);
  }
}

/**
 * Reads a workflow definition's JSON file (see the module comment for what throws what).
 *
 * @example
 * ```ts
 * const definition = await readDefinitionFile('review.workflow.json');
 * ```
 */
export async function readDefinitionFile(file: string): Promise<WorkflowDefinition> {
  const text = await readUserFile(file);
  // The same bounds and checks `fromJSON` applies, taken in its order, so each stage says its own problem.
  const inspection = inspectJSON(text, resolveLimits({}));
  if (!inspection.ok) {
    if (inspection.problems[0]?.code === 'invalid-json')
      throw new InputFileError(file, `'${file}' is not valid JSON: ${jsonSyntaxError(text)}`);
    throw notAWorkflow(file, inspection.problems);
  }
  const shape = WorkflowJSONSchema.safeParse(inspection.value);
  if (!shape.success) throw notAWorkflow(file, zodProblems(shape.error.issues));
  return fromJSON(inspection.value);
}

/** The first problem with its path (a zod issue path such as `steps[0].retry`), and how many more there are. */
function notAWorkflow(file: string, problems: readonly DefinitionProblem[]): InputFileError {
  const [first] = problems;
  const where = first && first.path.length > 0 ? `${formatPath(first.path)}: ` : '';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new InputFileError(
    file,
    `'${file}' is not a workflow definition: ${where}${first?.message ?? 'unreadable'}${more}`,
  );
}

function readFailure(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return (error as Error).message;
  }
}
