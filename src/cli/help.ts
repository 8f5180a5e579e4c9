/**
 * The help texts: `flowstate --help` lists every command; `flowstate help <command>` and `flowstate <command>
 * --help` show one command's usage, options, examples and exit codes. Both are drawn from `spec.ts`.
 */
import { COMMANDS, type CommandName, type CommandSpec, specOf } from './spec.js';

type Row = [left: string, right: string];

/** Rows as two aligned columns; a row with an empty right side is a heading or a blank line. */
function columns(rows: readonly Row[]): string {
  const width = Math.max(...rows.map(([left, right]) => (right === '' ? 0 : left.length))) + 2;
  return rows.map(([left, right]) => (right === '' ? left : left.padEnd(width) + right)).join('\n');
}

function optionRows(spec: CommandSpec): Row[] {
  return Object.entries(spec.options).map(([option, o]): Row => {
    const value = o.value === undefined ? '' : o.optional ? `[=<${o.value}>]` : ` <${o.value}>`;
    return [`  --${option}${value}`, o.description];
  });
}

function usageLine(command: CommandName, spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => (command === 'help' ? `[${a}]` : `<${a}>`));
  const options = Object.keys(spec.options).length > 0 ? ' [options]' : '';
  return ['flowstate', command, ...args].join(' ') + options;
}

/**
 * The `--help` text: every command and its options.
 *
 * @example
 * ```ts
 * io.out(helpText('1.0.0'));
 * ```
 */
export function helpText(version: string): string {
  const rows: Row[] = [];
  const section = (title: string, entries: Row[]) => {
    rows.push(['', ''], [title, ''], ...entries);
  };
  section(
    'Commands:',
    Object.entries(COMMANDS).map(
      ([command, spec]: [string, CommandSpec]): Row => [
        `  ${usageLine(command as CommandName, spec).replace(/^flowstate | \[options\]$/g, '')}`,
        spec.summary,
      ],
    ),
  );
  section('Options:', [
    ['  -h, --help', "show this help (after a command: that command's help)"],
    ['  -v, --version', 'print the version'],
  ]);
  for (const [command, spec] of Object.entries(COMMANDS) as Array<[string, CommandSpec]>) {
    if (Object.keys(spec.options).length > 0) section(`Options of '${command}':`, optionRows(spec));
  }
  return `flowstate ${version}: a workflow engine for multi-agent tasks, built on XState v5\n\nUsage: flowstate <command> [options]\n${columns(rows)}\n\nRun 'flowstate help <command>' for one command's help.\n`;
}

/**
 * One command's help: usage, summary, options, examples and exit codes.
 *
 * @example
 * ```ts
 * io.out(commandHelp('run'));
 * ```
 */
export function commandHelp(command: CommandName): string {
  const spec = specOf(command);
  const rows: Row[] = [['', ''], ['Options:', ''], ...optionRows(spec), ['  -h, --help', 'show this help']];
  const parts = [`Usage: ${usageLine(command, spec)}`, '', spec.summary, columns(rows)];
  if (spec.examples?.length) parts.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  if (spec.more) parts.push('', spec.more);
  return `${parts.join('\n')}\n`;
}
