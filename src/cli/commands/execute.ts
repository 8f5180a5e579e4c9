/**
 * What `flowstate run` and `flowstate showcase` share: finding a template, reading and validating its input,
 * opening the database (running the workflow is `live-run.ts`).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AnyTemplate } from '../../../machines/index.js';
import { findTemplate, templates } from '../../../machines/index.js';
import { openDatabase, parseTarget } from '../../db/index.js';
import type { Database } from '../../db/port.js';
import { ConfigurationError, formatPath } from '../../model/errors.js';
import { notUndoneOf } from '../../model/not-undone.js';
import { jsonSyntaxError } from '../json-location.js';
import { UsageError } from '../paths-command.js';
import { yielding } from '../yielding-db.js';

/**
 * The template with this id; a {@link UsageError} (exit 2) naming the known ones otherwise.
 *
 * @example
 * ```ts
 * const template = requireTemplate('schema-analysis');
 * ```
 */
export function requireTemplate(id: string): AnyTemplate {
  const found = findTemplate(id);
  if (found) return found;
  throw new UsageError(`unknown template '${id}' (templates: ${templates.map((t) => t.id).join(', ')})`);
}

/**
 * Reads `--input`: inline JSON when it starts with `{` or `[`, else a JSON file. A {@link UsageError} when it
 * cannot be read or parsed.
 *
 * @example
 * ```ts
 * const input = await readInput('{"schema":"public"}');
 * ```
 */
export async function readInput(text: string): Promise<unknown> {
  const inline = /^\s*[[{]/.test(text);
  let json = text;
  if (!inline) {
    try {
      // A byte-order mark (Notepad writes one) is no content, but JSON.parse refuses it.
      json = (await readFile(text, 'utf8')).replace(/^\uFEFF/, '');
    } catch {
      throw new UsageError(`--input: cannot read the file '${text}' (give a JSON file or inline JSON)`);
    }
  }
  try {
    return JSON.parse(json);
  } catch {
    const where = inline ? 'the inline JSON' : `'${text}'`;
    throw new UsageError(`--input: ${where} is not valid JSON: ${jsonSyntaxError(json)}`);
  }
}

/**
 * Checks an input against the template definition's zod input schema: one line per problem, each with the zod
 * path (`input.rules[0].table: ...`); empty when the input is valid.
 *
 * @example
 * ```ts
 * for (const problem of inputProblems(template, input)) io.err(`  ${problem}`);
 * ```
 */
export function inputProblems(template: AnyTemplate, input: unknown): string[] {
  const schema = template.definition.spec.options.input;
  if (!schema) return [];
  const parsed = schema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map(
    (issue) => `${formatPath(['input', ...issue.path.map(pathKey)])}: ${issue.message}`,
  );
}

function pathKey(key: PropertyKey): string | number {
  return typeof key === 'number' ? key : String(key);
}

/** How {@link openTarget} opens `--db`. */
export interface OpenTargetOptions {
  /**
   * Make a PGlite directory that holds no database yet (`--seed`, which then fills it). Without it such a directory
   * is refused: a typo in it would otherwise open a new, empty database on which every check passes.
   */
  readonly create?: boolean;
  /** Called once the URL is known to be good, before anything opens, with the line that says PGlite starts. */
  readonly before?: (starting: string | undefined) => void;
}

/**
 * Opens `--db` (PGlite in memory when absent). A bad URL, or a PGlite directory without a database and no
 * `create` (`--seed`), is a {@link UsageError} (exit 2); a server is only contacted by the first query. `before`
 * is called once the URL is known to be good, before anything opens, with the line that says PGlite starts (it
 * takes seconds) when it is PGlite.
 *
 * @example
 * ```ts
 * const db = await openTarget(undefined, { before: (starting) => starting && io.out(starting) }); // PGlite, in memory
 * ```
 */
export async function openTarget(
  url: string | undefined,
  options: OpenTargetOptions = {},
): Promise<{ db: Database; inMemory: boolean }> {
  try {
    const target = parseTarget(url);
    const inMemory = target.kind === 'pglite' && target.dir === undefined;
    if (target.kind === 'pglite' && target.dir !== undefined)
      checkPgliteDir(resolve(target.dir), options.create);
    const where = inMemory ? 'in memory' : target.kind === 'pglite' ? target.dir : '';
    options.before?.(
      target.kind === 'pglite' ? `starting the embedded PostgreSQL (PGlite, ${where})…` : undefined,
    );
    return { db: yielding(await openDatabase(url)), inMemory };
  } catch (error) {
    if (error instanceof ConfigurationError)
      throw new UsageError(`--db: ${error.message.replace(/^\[\w+\] /, '')}`);
    throw error;
  }
}

/**
 * Refuses a PGlite directory `--db` cannot mean: one under a directory that does not exist (PGlite makes its
 * directory, not those above it), or, unless `create`, one that holds no database (every PostgreSQL data
 * directory has a `PG_VERSION` file), which PGlite would silently initialize empty.
 */
function checkPgliteDir(dir: string, create = false): void {
  if (!existsSync(dirname(dir)))
    throw new UsageError(`--db: no directory ${dirname(dir)} to keep the database in`);
  // A file (a SQLite store given as --db, say): PGlite would fail on it with a bare errno.
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new UsageError(`--db: ${dir} is a file, not a PGlite database directory`);
  if (create || existsSync(join(dir, 'PG_VERSION'))) return;
  const what = existsSync(dir) ? `${dir} holds no PGlite database` : `no PGlite database at ${dir}`;
  throw new UsageError(`--db: ${what} (a typo? --seed creates one there, with the sample data)`);
}

/**
 * The error's message with its root cause, which a `StepFailedError` keeps out of its own message.
 *
 * @example
 * ```ts
 * io.err(`flowstate: the run failed: ${describeError(error)}`);
 * ```
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let cause: unknown = error.cause;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return cause instanceof Error ? `${error.message} (cause: ${cause.message})` : error.message;
}

/**
 * What a run that failed left in place: a line per compensation that failed (a migration's revert), from the error's
 * `compensationErrors` (an error the run rejected with, or the error of a stored run), with the agent's reason.
 *
 * @example
 * ```ts
 * notUndone(run.error); // ["NOT undone (apply/compensate): Step 'apply/compensate' failed after 1 attempt: ..."]
 * ```
 */
export function notUndone(error: unknown): string[] {
  return notUndoneOf(error).map(({ stepPath, reason }) => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    const flat = reason.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
    return `NOT undone (${stepPath ?? 'a compensation'}): ${flat.length > 600 ? `${flat.slice(0, 600)}…` : flat}`;
  });
}

/**
 * The `--action` (and `--value`) that decides a step waiting on a human, and the other way to decide it if there is
 * one. A migration's approval is a `skip` whose value is the approval: a `skip` without it was taken, and the run then
 * failed at its dry run (found by a new user).
 *
 * @example
 * ```ts
 * decision('migration', 'approval').actions; // `--action skip --value '{"approved": true, "by": "<your name>"}'`
 * ```
 */
export function decision(workflow: string, step: string): { actions: string; or?: string } {
  if (workflow === 'migration' && step === 'approval')
    return {
      actions: `--action skip --value '{"approved": true, "by": "<your name>"}'`,
      or: '--action abort',
    };
  return { actions: '--action retry|skip|abort' };
}

/** {@link decision} on one line: its actions, and the other way in parentheses. */
export function decisionText(workflow: string, step: string): string {
  const { actions, or } = decision(workflow, step);
  return or ? `${actions} (or ${or})` : actions;
}
