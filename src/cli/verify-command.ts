/**
 * `flowstate verify <template|file.json> [--json]`: checks a workflow definition (see `verify`). Exit 0 when it
 * verifies (warnings allowed), 1 when it has errors (a definition `fromJSON`'s checks refuse too), 2 for a usage
 * mistake or a file that cannot be read, is not JSON or is not shaped like a workflow (definition-file.ts).
 */
import { parseArgs } from 'node:util';
import { verify } from '../dsl/verify.js';
import { formatPath } from '../model/errors.js';
import type { CliIO } from './demo-command.js';
import { readableState } from './names.js';
import { type DefinitionSources, definitionRef, fail, loadDefinition } from './paths-command.js';

/**
 * Runs `flowstate verify` on the arguments after `verify` and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runVerifyCommand(['review.workflow.json'], { out: console.log, err: console.error });
 * ```
 */
export async function runVerifyCommand(
  args: readonly string[],
  io: CliIO,
  sources: DefinitionSources = {},
): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    const ref = definitionRef(positionals);
    const { definition } = await loadDefinition(ref, sources);
    const report = verify(definition);
    if (values.json) {
      io.out(JSON.stringify(report, null, 2));
      return report.ok ? 0 : 1;
    }
    const count = (severity: string) => report.problems.filter((p) => p.severity === severity).length;
    const errors = count('error');
    const warnings = count('warning');
    const tally = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
    io.out(
      `${report.workflow}: ${report.ok ? 'verified' : 'NOT verified'} (${tally}; ${report.states} states checked)`,
    );
    for (const p of report.problems) {
      io.out(`  ${p.severity} ${p.code} at ${readableState(definition, p.state)} (${formatPath(p.path)})`);
      io.out(`    ${p.message}`);
      io.out(`    hint: ${p.hint}`);
      if (p.route) io.out(`    route: ${p.route}`);
    }
    return report.ok ? 0 : 1;
  } catch (error) {
    return fail(error, io);
  }
}
