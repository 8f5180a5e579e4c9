/**
 * `flowstate run <template> [--db <url>] [--input <file|json>] [--json] [--seed] [--store <url>] [--inspect[=<url>]]`:
 * runs one template on a database with live progress and a readable report (or, with `--json`, only the output).
 * Ctrl-C is trapped from the start (`interrupt.ts`), so it exits 130 in every phase.
 *
 * Exit codes: 0 done; 1 the run failed or was compensated (or the database could not be seeded); 2 a usage
 * mistake (unknown template, bad URL, a PGlite directory without a database and no `--seed`, a bad `--model`, an
 * `--agents` agent the template does not use, unreadable or invalid input); 3 the run waits on a human decision;
 * 130 cancelled with Ctrl-C.
 */
import type { AnyTemplate } from '../../../machines/index.js';
import type { Database } from '../../db/port.js';
import { seedSample } from '../../db/sample/index.js';
import { FlowstateError } from '../../model/errors.js';
import type { WorkflowStore } from '../../persistence/types.js';
import { type AgentsOptions, prepareAgents } from '../agents-option.js';
import type { CliIO } from '../demo-command.js';
import { fileHistory, historyPath } from '../history-file.js';
import { INTERRUPTED, trapInterrupt } from '../interrupt.js';
import { fail } from '../paths-command.js';
import { openStore, storeUrl } from '../store-url.js';
import {
  decision,
  describeError,
  inputProblems,
  notUndone,
  openTarget,
  readInput,
  requireTemplate,
} from './execute.js';
import { executeTemplate, type Outcome } from './live-run.js';
import { summarize } from './report.js';

/** Options of {@link runTemplateCommand}, from the command line (`--agents`, `--model`, `--model-url` in AgentsOptions). */
export interface RunCommandOptions extends AgentsOptions {
  /** `--db`: a `postgres://` URL or a PGlite directory. @default PGlite in memory, seeded */
  readonly db?: string | undefined;
  /** `--input`: a JSON file or inline JSON. @default the template's example input */
  readonly input?: string | undefined;
  /** `--json`: print only the output. */
  readonly json: boolean;
  /** `--seed`: seed the sample database (always done for an in-memory database). */
  readonly seed: boolean;
  /** `--inspect` (the default relay) or `--inspect=<url>`: watch the run in the Stately inspector. */
  readonly inspect?: boolean | string;
  /** `--store`: keep the run in this store (its ETA starts from what the store learned). */
  readonly store?: string | undefined;
}

/**
 * Runs `flowstate run` and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runTemplateCommand('schema-analysis', { json: true, seed: false }, io);
 * ```
 */
export async function runTemplateCommand(id: string, options: RunCommandOptions, io: CliIO): Promise<number> {
  const interrupt = trapInterrupt(io);
  let db: Database | undefined;
  let store: WorkflowStore | undefined;
  try {
    const template = requireTemplate(id);
    const input = options.input === undefined ? template.exampleInput : await readInput(options.input);
    const problems = inputProblems(template, input);
    if (problems.length > 0) {
      io.err(`flowstate: invalid input for '${template.id}':`);
      for (const problem of problems) io.err(`  - ${problem}`);
      return 2;
    }
    // Before the store and the database: a mistyped --model or --agents is said at once, not after PGlite starts.
    const agentsFor = await prepareAgents(template, options);
    if (options.store !== undefined) {
      store = openStore(storeUrl(options.store));
      // A store out of reach is said now: the engine would wait for it without a word (writes are retried).
      await store.listRuns({ limit: 1 }).catch((error: unknown) => {
        throw new FlowstateError(
          'STORE_UNAVAILABLE',
          `--store: cannot reach the store (${(error as Error).message})`,
        );
      });
    }
    const opened = await openTarget(options.db, {
      create: options.seed,
      before: (starting) => {
        if (!options.json) io.out(`${template.id}: ${template.description}`);
        // With --json, stdout is the output's: the wait is told on stderr, and only to a person watching it.
        const announce = options.json ? (process.stderr.isTTY ? io.err : undefined) : io.out;
        if (starting !== undefined) announce?.(starting);
      },
    });
    db = opened.db;
    const where = options.db === undefined ? 'PGlite in memory' : opened.db.dialect;
    if (options.seed || opened.inMemory) {
      try {
        const seeded = await seedSample(db);
        const rows = Object.values(seeded.rows).reduce((a, b) => a + b, 0);
        if (!options.json)
          io.out(`database: ${where}, sample data seeded (${rows} rows, ${seeded.durationMs.toFixed(0)} ms)`);
      } catch (error) {
        // The sample is there already (or tables of its names): --seed never drops what a database holds.
        const code =
          (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
        if (code === '42710' || code === '42P07') {
          io.err(
            `flowstate: --seed: the database has the sample's tables already (${describeError(error)}); run without --seed to use them (--seed never drops what a database holds)`,
          );
          return 2;
        }
        io.err(`flowstate: cannot seed the sample database: ${describeError(error)}`);
        return 1;
      }
    } else if (!options.json) {
      io.out(`database: ${where}`);
    }
    // After seeding: an agents module may export a function of the database.
    const agents = await agentsFor(db);
    if (!options.json) io.out('');
    // Without a store, the durations learned by earlier runs of the CLI start the ETA.
    const learned = store ? undefined : fileHistory(historyPath());
    const given = store;
    store = undefined; // closed by the run's engine from here
    const outcome = await executeTemplate({
      template,
      db,
      input,
      io,
      progress: options.json ? 'none' : process.stdout.isTTY ? 'live' : 'lines',
      inspect: options.inspect,
      interrupt,
      history: learned?.history,
      store: given,
      agents,
    });
    learned?.save();
    return report(template, outcome, options, io);
  } catch (error) {
    return fail(error, io);
  } finally {
    await store?.close();
    await db?.close();
    interrupt.release();
  }
}

/** Prints how the run ended and returns the exit code. */
function report(template: AnyTemplate, outcome: Outcome, options: RunCommandOptions, io: CliIO): number {
  const { json } = options;
  switch (outcome.status) {
    case 'done': {
      if (json) {
        io.out(JSON.stringify(outcome.output, null, 2));
        return 0;
      }
      // How it ended is the reporter's closing line; then the report.
      io.out('');
      for (const line of summarize(template.id, outcome.output, { full: true })) io.out(`  ${line}`);
      io.out('');
      io.out(`Run with --json for the full report.`);
      return 0;
    }
    case 'waiting': {
      const steps = outcome.steps.map((s) => `'${s}'`).join(', ');
      const why = () => {
        for (const { step, reason } of outcome.reasons) io.err(`  why (${step}): ${oneLine(reason)}`);
      };
      if (outcome.runId !== undefined) {
        // Kept in the store: an operator decides, then the run goes on.
        const store = `--store '${options.store}'`;
        io.err(`flowstate: the ${template.id} run ${outcome.runId} waits on a human decision at ${steps}.`);
        why();
        const step = outcome.steps[0] ?? '';
        const { actions, or } = decision(template.id, step);
        io.err(`  decide: flowstate runs decide ${outcome.runId} ${step} ${actions} ${store}`);
        if (or) io.err(`  or:     flowstate runs decide ${outcome.runId} ${step} ${or} ${store}`);
        return 3;
      }
      io.err(`flowstate: the ${template.id} run waits on a human decision at ${steps}; stopped.`);
      why();
      io.err(`  hint: ${waitingHint(template.id)}`);
      return 3;
    }
    case 'cancelled':
      io.err(`flowstate: the ${template.id} run was cancelled: ${describeError(outcome.error)}`);
      return INTERRUPTED;
    default: {
      const what =
        outcome.status === 'compensated' ? 'failed and was compensated (its changes reverted)' : 'failed';
      io.err(`flowstate: the ${template.id} run ${what}: ${describeError(outcome.error)}`);
      // A compensation that failed (a migration's revert) left its step's changes in place: said, not hidden.
      for (const line of notUndone(outcome.error)) io.err(`  ${line}`);
      return 1;
    }
  }
}

/** A reason as one terminal line: control characters (an escape sequence in a name) and line breaks as spaces, cut at 600 characters. */
function oneLine(reason: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = reason.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return flat.length > 600 ? `${flat.slice(0, 600)}… (${flat.length - 600} more characters)` : flat;
}

/** What to do about a run that waits, per template. */
function waitingHint(templateId: string): string {
  switch (templateId) {
    case 'migration':
      return `the migration is destructive, or proposed by Flowstate (no SQL given): approve it up front with "approvedBy" in the input, e.g. --input '{"sql": "...", "approvedBy": "your name"}'`;
    case 'data-validation':
      return 'more rows break a rule than the threshold allows: fix the data, or raise "threshold" (0 to 1) in the input';
    case 'query-generation':
      return 'no generated query passed the checks: rephrase "request" in the input';
    default:
      return 'this step needs run.resolveEscalation(...) from a program embedding the engine';
  }
}
