/**
 * What `flowstate run` and `flowstate showcase` share: finding a template, reading and validating its input,
 * opening the database, and running the workflow with live progress until it ends or waits on a human.
 */
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import type { AnyTemplate } from '../../../machines/index.js';
import { findTemplate, templates } from '../../../machines/index.js';
import { openDatabase, parseTarget } from '../../db/index.js';
import type { Database } from '../../db/port.js';
import { ConfigurationError, formatPath } from '../../model/errors.js';
import { combineInspection, inspectorFromFlag } from '../../observability/inspect.js';
import { createLogger } from '../../observability/logger.js';
import { formatMs } from '../../progress/reporters/format.js';
import { createEngine } from '../../runtime/engine.js';
import type { CliIO } from '../demo-command.js';
import { type ProgressStats, progressLines } from '../lines.js';
import { UsageError } from '../paths-command.js';

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
      json = await readFile(text, 'utf8');
    } catch {
      throw new UsageError(`--input: cannot read the file '${text}' (give a JSON file or inline JSON)`);
    }
  }
  try {
    return JSON.parse(json);
  } catch (error) {
    const where = inline ? 'the inline JSON' : `'${text}'`;
    throw new UsageError(`--input: ${where} is not valid JSON (${(error as Error).message})`);
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

/**
 * Opens `--db` (PGlite in memory when absent). A bad URL is a {@link UsageError} (exit 2); the server itself is
 * only contacted by the first query.
 *
 * @example
 * ```ts
 * const db = await openTarget(undefined); // PGlite, in memory
 * ```
 */
export async function openTarget(url: string | undefined): Promise<{ db: Database; inMemory: boolean }> {
  try {
    const target = parseTarget(url);
    return { db: await openDatabase(url), inMemory: target.kind === 'pglite' && target.dir === undefined };
  } catch (error) {
    if (error instanceof ConfigurationError)
      throw new UsageError(`--db: ${error.message.replace(/^\[\w+\] /, '')}`);
    throw error;
  }
}

/** How a template run ended. */
export type Outcome =
  | { readonly status: 'done'; readonly output: unknown; readonly ms: number; readonly stats: ProgressStats }
  | { readonly status: 'waiting'; readonly steps: readonly string[]; readonly ms: number }
  | { readonly status: 'failed' | 'compensated' | 'cancelled'; readonly error: unknown; readonly ms: number };

/** Options of {@link executeTemplate}. */
export interface ExecuteOptions {
  readonly template: AnyTemplate;
  readonly db: Database;
  readonly input: unknown;
  readonly io: CliIO;
  /** Print live progress lines on `io.out`. */
  readonly progress: boolean;
  /** Send the run to the Stately inspector: `true` for the default relay, or its URL. */
  readonly inspect?: boolean | string | undefined;
}

/**
 * Runs a template's workflow with its agents and guards on `db`. A run that starts waiting on a human (an
 * escalation or a `waitFor`) is cancelled and reported as `waiting`, with the steps that wait; Ctrl-C cancels.
 *
 * @example
 * ```ts
 * const outcome = await executeTemplate({ template, db, input: template.exampleInput, io, progress: true });
 * ```
 */
export async function executeTemplate(options: ExecuteOptions): Promise<Outcome> {
  const { template, io } = options;
  const started = Date.now();
  const progress = options.progress
    ? progressLines({ definition: template.definition, write: io.out })
    : undefined;
  // Engine logs would interleave with the progress lines (and break --json): silent unless asked for, on stderr.
  const logger = createLogger(
    { level: process.env.FLOWSTATE_LOG_LEVEL ?? 'silent' },
    pino.destination({ dest: 2, sync: true }),
  );
  const inspector = inspectorFromFlag(options.inspect);
  const inspect = combineInspection(progress?.inspect, inspector);
  const engine = createEngine({
    ...(inspect ? { inspect } : {}),
    agents: template.agents(options.db),
    logger,
    ...(template.guards ? { guards: template.guards } : {}),
  });
  const run = engine.start(template.definition, options.input);
  // The overall line with the ETA comes from run.progress$ (the step lines above come from inspection).
  let printed = Number.NEGATIVE_INFINITY;
  const eta = progress
    ? run.progress$.subscribe({
        next: (p) => {
          if (p.status === 'done' || p.percent - printed < 25) return;
          printed = p.percent;
          io.out(`  ⏱ ${p.percent.toFixed(0)}% done, ETA ${formatMs(p.eta.remainingMs)}`);
        },
        error: () => {},
      })
    : undefined;
  const interrupt = () => run.cancel('Interrupted (Ctrl-C)');
  process.once('SIGINT', interrupt);
  let poll: NodeJS.Timeout | undefined;
  const waiting = new Promise<readonly string[]>((resolve) => {
    poll = setInterval(() => {
      if (run.status === 'waiting') resolve(run.waitingSteps());
    }, 50);
  });
  try {
    const first = await Promise.race([
      run.result.then((output) => ({ done: true as const, output })),
      waiting.then((steps) => ({ done: false as const, steps })),
    ]);
    if (first.done) {
      const stats = progress?.stats() ?? { stepsDone: 0, retries: 0 };
      return { status: 'done', output: first.output, ms: Date.now() - started, stats };
    }
    run.cancel('Waiting on a human decision: stopped by the CLI');
    await run.result.catch(() => {});
    return { status: 'waiting', steps: first.steps, ms: Date.now() - started };
  } catch (error) {
    const status = run.status;
    const ended = status === 'compensated' || status === 'cancelled' ? status : 'failed';
    return { status: ended, error, ms: Date.now() - started };
  } finally {
    clearInterval(poll);
    eta?.unsubscribe();
    process.off('SIGINT', interrupt);
    await engine.close();
    // Delivers the last events, then lets the process exit (the inspector never keeps it alive).
    await inspector?.close();
  }
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
