/**
 * `flowstate demo`: runs the demo workflow with live progress lines (or, with `--json`, prints only the output).
 */
import { pino } from 'pino';
import { FlowstateError } from '../model/errors.js';
import { createLogger } from '../observability/logger.js';
import { createEngine } from '../runtime/engine.js';
import { DEMO_INPUT, demoAgents, demoWorkflow } from './demo.js';
import { progressLines } from './lines.js';

/** Where the CLI writes: one call per line, without the trailing newline. */
export interface CliIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Options of {@link runDemo}, from the command line. */
export interface DemoCommandOptions {
  /** Print only the final output, as JSON. */
  readonly json: boolean;
  /** Make the lint agent fail on every attempt. */
  readonly fail: boolean;
}

/**
 * Runs the demo and returns the exit code: 0 when it succeeds, 1 when the run fails, 130 when Ctrl-C cancels it
 * (the shell's convention for SIGINT).
 */
export async function runDemo(options: DemoCommandOptions, io: CliIO): Promise<number> {
  const started = Date.now();
  const progress = options.json ? undefined : progressLines({ definition: demoWorkflow, write: io.out });
  // Engine logs would interleave with the progress lines (and break --json): silent unless asked for, and on stderr.
  const logger = createLogger(
    { level: process.env.FLOWSTATE_LOG_LEVEL ?? 'silent' },
    pino.destination({ dest: 2, sync: true }),
  );
  const engine = createEngine({
    agents: demoAgents({ failLint: options.fail }),
    logger,
    ...(progress ? { inspect: progress.inspect } : {}),
  });
  if (!options.json) io.out(`${demoWorkflow.id}: ${demoWorkflow.description ?? ''}`);
  const run = engine.start(demoWorkflow, DEMO_INPUT);
  const interrupt = () => run.cancel('Interrupted (Ctrl-C)');
  process.once('SIGINT', interrupt);
  try {
    const output = await run.result;
    if (options.json) {
      io.out(JSON.stringify(output, null, 2));
      return 0;
    }
    const stats = progress?.stats() ?? { stepsDone: 0, retries: 0 };
    const retries = `${stats.retries} ${stats.retries === 1 ? 'retry' : 'retries'}`;
    io.out('');
    io.out(`done in ${Date.now() - started} ms: ${stats.stepsDone} steps, ${retries}`);
    io.out(JSON.stringify(output, null, 2));
    return 0;
  } catch (error) {
    const cancelled = error instanceof FlowstateError && error.code === 'CANCELLED';
    io.err(`flowstate: the demo run ${cancelled ? 'was cancelled' : 'failed'}: ${describe(error)}`);
    return cancelled ? 130 : 1;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/** The error's message with its root cause, which a `StepFailedError` keeps out of its own message. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let cause: unknown = error.cause;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return cause instanceof Error ? `${error.message} (cause: ${cause.message})` : error.message;
}
