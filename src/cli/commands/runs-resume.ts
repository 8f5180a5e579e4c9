/**
 * `flowstate runs resume <run> [--db <url>] [--seed] [--json] --store <url>`: takes a stored run of a built-in
 * template (its lease must have expired or been released) and continues it in this process, with the template's
 * agents on `--db` (as `flowstate run` opens it), until it ends or waits on a human. A run that waits is handed
 * back to the store (exit 3) for `runs decide` or `runs send`; Ctrl-C hands it back too (exit 130).
 */
import { findTemplate, templates } from '../../../machines/index.js';
import type { Database } from '../../db/port.js';
import { seedSample } from '../../db/sample/index.js';
import { UNFINISHED } from '../../persistence/types.js';
import { createEngine } from '../../runtime/engine.js';
import type { Engine } from '../../runtime/engine-types.js';
import type { CliIO } from '../demo-command.js';
import { UsageError } from '../paths-command.js';
import { openStore, storeUrl } from '../store-url.js';
import { otherVersionMessage, untouchedOtherVersions } from '../template-versions.js';
import { decisionText, describeError, notUndone, openTarget } from './execute.js';
import { summarize } from './report.js';
import { cliLogger, EXIT, type RunsInvocation, text } from './runs-common.js';

/** How the resumed run stopped here. */
type Ending =
  | { readonly kind: 'done'; readonly output: unknown }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'waiting'; readonly steps: readonly string[] }
  | { readonly kind: 'interrupted' };

/**
 * Runs `runs resume` and returns the exit code: 0 done, 1 failed (or compensated, cancelled, owned by a live
 * engine, or a run of another template version, left untouched), 2 a usage mistake (unknown run or workflow, a run that ended), 3 waits on a human, 130 Ctrl-C.
 *
 * @example
 * ```ts
 * const code = await runsResume(parseRuns(['resume', 'r1', '--store', 'sqlite:./flowstate.db']), io);
 * ```
 */
export async function runsResume({ values, positionals }: RunsInvocation, io: CliIO): Promise<number> {
  const [id = ''] = positionals;
  const json = values.json === true;
  const store = openStore(storeUrl(text(values, 'store')));
  let engine: Engine | undefined;
  let db: Database | undefined;
  try {
    const stored = await store.getRun(id);
    if (!stored) {
      io.err(`flowstate: no run ${id} in the store`);
      return EXIT.usage;
    }
    if (!UNFINISHED.includes(stored.status))
      throw new UsageError(`run ${id} already ended (${stored.status}): nothing to resume`);
    const template = findTemplate(stored.workflow);
    if (!template) {
      const known = templates.map((t) => t.id).join(', ');
      throw new UsageError(
        `run ${id} is a run of workflow '${stored.workflow}', which is not a built-in template (${known}): resume it from the program that defines it`,
      );
    }
    // Another release's run is left as it is: this release's engine would mark it failed (no migration for it).
    if (stored.version !== template.definition.version) {
      io.err(`flowstate: ${otherVersionMessage(stored, template.definition.version)}`);
      return EXIT.refused;
    }
    const dbUrl = text(values, 'db');
    // PGlite takes seconds to start: say so first (not with --json, whose stdout is the output's).
    const opened = await openTarget(dbUrl, {
      create: values.seed === true,
      before: (starting) => !json && starting && io.out(starting),
    });
    db = opened.db;
    if (opened.inMemory || values.seed === true) await seedSample(db);
    engine = createEngine({
      store,
      workflows: [template.definition],
      agents: template.agents(db),
      ...(template.guards ? { guards: template.guards } : {}),
      logger: cliLogger(),
      lease: { adopt: false },
      // A run whose version changed between the check above and the take is refused the same way.
      migrate: untouchedOtherVersions(),
    });
    const started = Date.now();
    const run = await engine.resume(id);
    const where = dbUrl === undefined ? 'PGlite in memory, sample data seeded' : opened.db.dialect;
    if (!json) io.out(`run ${id} (${template.id}): resumed from its last checkpoint (database: ${where})`);
    const ending = await endingOf(run);
    const ms = Date.now() - started;
    switch (ending.kind) {
      case 'done':
        if (json) io.out(JSON.stringify(ending.output, null, 2));
        else {
          io.out(`run ${id}: done in ${ms} ms`);
          for (const line of summarize(template.id, ending.output, { full: false })) io.out(`  ${line}`);
        }
        return EXIT.ok;
      case 'failed':
        io.err(`flowstate: run ${id} ended ${run.status}: ${describeError(ending.error)}`);
        for (const line of notUndone(ending.error)) io.err(`  ${line}`);
        return EXIT.refused;
      case 'waiting': {
        const steps = ending.steps.map((s) => `'${s}'`).join(', ');
        io.err(`flowstate: run ${id} waits on a human at ${steps}; handed back to the store.`);
        const [step = '<stepPath>'] = ending.steps;
        io.err(
          `  hint: flowstate runs decide ${id} ${step} ${decisionText(template.id, step)} (an escalation), or flowstate runs send ${id} '{"type":"..."}' (a waitFor)`,
        );
        return EXIT.waiting;
      }
      case 'interrupted':
        break;
    }
    io.err(`flowstate: interrupted: run ${id} handed back to the store, where the next engine takes it`);
    return 130;
  } finally {
    // Hands an unfinished run back (its lease released at once) and closes the store.
    if (engine) await engine.close();
    else await store.close();
    await db?.close();
  }
}

/** Waits until the run ends, waits on a human, or Ctrl-C. */
async function endingOf(run: Awaited<ReturnType<Engine['resume']>>): Promise<Ending> {
  let poll: NodeJS.Timeout | undefined;
  let interrupt: (() => void) | undefined;
  try {
    return await Promise.race([
      run.result.then(
        (output): Ending => ({ kind: 'done', output }),
        (error: unknown): Ending => ({ kind: 'failed', error }),
      ),
      new Promise<Ending>((resolve) => {
        poll = setInterval(() => {
          if (run.status === 'waiting') resolve({ kind: 'waiting', steps: run.waitingSteps() });
        }, 50);
      }),
      new Promise<Ending>((resolve) => {
        interrupt = () => resolve({ kind: 'interrupted' });
        process.once('SIGINT', interrupt);
      }),
    ]);
  } finally {
    clearInterval(poll);
    if (interrupt) process.off('SIGINT', interrupt);
  }
}
