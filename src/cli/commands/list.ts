/**
 * `flowstate list`: the workflow templates, one line each.
 */
import { templates } from '../../../machines/index.js';
import type { CliIO } from '../demo-command.js';

/**
 * Prints each template's id and one-line description; returns the exit code (0).
 *
 * @example
 * ```ts
 * runList({ out: console.log, err: console.error });
 * ```
 */
export function runList(io: CliIO): number {
  const width = Math.max(...templates.map((t) => t.id.length)) + 2;
  for (const t of templates) io.out(`${t.id.padEnd(width)}${t.description}`);
  io.out('');
  io.out("Run one with 'flowstate run <template>', see its steps with 'flowstate describe <template>'.");
  return 0;
}
