/**
 * `flowstate showcase` (what `npm start` runs): all five templates, in order, on the sample database in an
 * in-memory PGlite, with live progress and a short summary of each. Exit 0 when every template finished, 1 when
 * one did not.
 */
import { templates } from '../../../machines/index.js';
import { seedSample } from '../../db/sample/index.js';
import type { CliIO } from '../demo-command.js';
import { describeError, executeTemplate, openTarget } from './execute.js';
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
  const { db } = await openTarget(undefined);
  try {
    const seeded = await seedSample(db);
    const rows = Object.values(seeded.rows).reduce((a, b) => a + b, 0);
    io.out(
      `flowstate showcase: ${templates.length} templates on the sample e-commerce database (PGlite in memory, ${rows} rows seeded in ${seeded.durationMs.toFixed(0)} ms)`,
    );
    const results: string[] = [];
    for (const [i, template] of templates.entries()) {
      io.out('');
      io.out(`[${i + 1}/${templates.length}] ${template.id}: ${template.description}`);
      // An unattended run cannot wait for a human: approve the migration up front in case its lint calls it destructive.
      const input =
        template.id === 'migration'
          ? { ...(template.exampleInput as Record<string, unknown>), approvedBy: SHOWCASE_APPROVER }
          : template.exampleInput;
      const outcome = await executeTemplate({ template, db, input, io, progress: true });
      if (outcome.status === 'done') {
        io.out(`  ── done in ${outcome.ms} ms`);
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
    await db.close();
  }
}
