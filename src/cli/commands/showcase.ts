/**
 * `flowstate showcase` (what `npm start` runs): all five templates, in order, on the sample database in an
 * in-memory PGlite, with live progress and a short summary of each. Exit 0 when every template finished, 1 when
 * one did not, 130 on Ctrl-C (in every phase: the run going is cancelled, and the showcase stops there).
 */
import { templates } from '../../../machines/index.js';
import type { Database } from '../../db/port.js';
import { SAMPLE_MIGRATION, seedSample } from '../../db/sample/index.js';
import type { CliIO } from '../demo-command.js';
import { fileHistory, historyPath } from '../history-file.js';
import { INTERRUPTED, trapInterrupt } from '../interrupt.js';
import { describeError, openTarget } from './execute.js';
import { executeTemplate } from './live-run.js';
import { summarize } from './report.js';

/** Who approves the showcase's migration up front, so it runs unattended. */
const SHOWCASE_APPROVER = 'flowstate showcase';

/**
 * Runs the showcase and returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runShowcase({ out: console.log, err: console.error });
 * ```
 */
export async function runShowcase(io: CliIO): Promise<number> {
  const started = Date.now();
  const interrupt = trapInterrupt(io);
  let db: Database | undefined;
  try {
    db = (await openTarget(undefined, { before: (starting) => starting && io.out(starting) })).db;
    const seeded = await seedSample(db);
    const rows = Object.values(seeded.rows).reduce((a, b) => a + b, 0);
    io.out(
      `flowstate showcase: ${templates.length} templates on the sample e-commerce database (PGlite in memory, ${rows} rows seeded in ${seeded.durationMs.toFixed(0)} ms)`,
    );
    // The durations learned by earlier showcases start each template's ETA.
    const learned = fileHistory(historyPath());
    const results: string[] = [];
    for (const [i, template] of templates.entries()) {
      io.out('');
      io.out(`[${i + 1}/${templates.length}] ${template.id}: ${template.description}`);
      // The sample's own migration (the template's default proposes fixes from the schema analysis instead), approved
      // up front: an unattended run cannot wait for a human, in case its lint calls it destructive.
      const input =
        template.id === 'migration'
          ? { sql: SAMPLE_MIGRATION, approvedBy: SHOWCASE_APPROVER }
          : template.exampleInput;
      const outcome = await executeTemplate({
        template,
        db,
        input,
        io,
        progress: process.stdout.isTTY ? 'live' : 'lines',
        interrupt,
        history: learned?.history,
      });
      learned?.save();
      if (outcome.status === 'cancelled' && interrupt.interrupted) {
        io.err(`flowstate: showcase interrupted during ${template.id}: ${describeError(outcome.error)}`);
        return INTERRUPTED;
      }
      if (outcome.status === 'done') {
        for (const line of summarize(template.id, outcome.output, { full: false })) io.out(`  ${line}`);
        results.push(`${template.id} ✓ ${outcome.ms} ms`);
      } else {
        const why =
          outcome.status === 'waiting'
            ? `waits on a human decision at ${outcome.steps.join(', ')}`
            : `${outcome.status}: ${describeError(outcome.error)}`;
        io.err(`flowstate: ${template.id} ${why}`);
        results.push(`${template.id} ✗ ${outcome.status}`);
      }
    }
    io.out('');
    io.out(`showcase done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${results.join(', ')}`);
    return results.every((r) => r.includes('✓')) ? 0 : 1;
  } finally {
    await db?.close();
    interrupt.release();
  }
}
