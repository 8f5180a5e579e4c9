/**
 * Command-line parsing with `node:util` parseArgs. Parsing is lenient (`strict: false`) and then checked here,
 * so every mistake gets one clear line naming the offending word, instead of parseArgs' generic wording.
 */
import { parseArgs } from 'node:util';

/** A command and the options it accepts, for parsing and for the help text. */
export interface CommandSpec {
  readonly summary: string;
  readonly options: Readonly<Record<string, { readonly description: string }>>;
}

/** Every command, by name. Options are boolean flags: none takes a value yet. */
export const COMMANDS = {
  demo: {
    summary: 'run a demo workflow (review a SQL change) with live progress',
    options: {
      json: { description: 'print only the final output, as JSON' },
      fail: { description: 'make the lint agent fail on every attempt, to see a failed run' },
    },
  },
} as const satisfies Readonly<Record<string, CommandSpec>>;

/** A command name. */
export type CommandName = keyof typeof COMMANDS;

/** What the command line asks for. `usage` errors exit with code 2. */
export type Invocation =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'demo'; readonly json: boolean; readonly fail: boolean }
  | { readonly kind: 'usage'; readonly message: string };

const GLOBAL = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } as const;

/** Parses the arguments after `flowstate` (`process.argv.slice(2)`). Never throws. */
export function parseInvocation(args: readonly string[]): Invocation {
  const commandOptions = Object.fromEntries(
    Object.values(COMMANDS).flatMap((c) =>
      Object.keys(c.options).map((name) => [name, { type: 'boolean' } as const]),
    ),
  );
  const { tokens, positionals } = parseArgs({
    args: [...args],
    options: { ...GLOBAL, ...commandOptions },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const [name, ...extra] = positionals;
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? (name as CommandName) : undefined;
  const flags = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    // Without a known command, a command's option is fine here: the missing or unknown command is the error.
    const known =
      Object.hasOwn(GLOBAL, token.name) ||
      (command === undefined
        ? Object.hasOwn(commandOptions, token.name)
        : Object.hasOwn(COMMANDS[command].options, token.name));
    if (!known) {
      const where = command === undefined ? '' : ` for '${command}'`;
      return { kind: 'usage', message: `unknown option '${token.rawName}'${where}` };
    }
    if (token.value !== undefined)
      return { kind: 'usage', message: `option '${token.rawName}' takes no value` };
    flags.add(token.name);
  }
  if (flags.has('help')) return { kind: 'help' };
  if (flags.has('version')) return { kind: 'version' };
  if (name === undefined) return { kind: 'usage', message: 'missing command' };
  if (command === undefined) return { kind: 'usage', message: `unknown command '${name}'` };
  if (extra.length > 0)
    return { kind: 'usage', message: `unexpected argument '${extra[0]}' for '${command}'` };
  return { kind: 'demo', json: flags.has('json'), fail: flags.has('fail') };
}

/** The `--help` text. */
export function helpText(version: string): string {
  const rows: Array<[string, string]> = [];
  const section = (title: string, entries: Array<[string, string]>) => {
    rows.push(['', ''], [title, '']);
    rows.push(...entries.map(([left, right]): [string, string] => [`  ${left}`, right]));
  };
  section(
    'Commands:',
    Object.entries(COMMANDS).map(([command, spec]): [string, string] => [command, spec.summary]),
  );
  section('Options:', [
    ['-h, --help', 'show this help'],
    ['-v, --version', 'print the version'],
  ]);
  for (const [command, spec] of Object.entries(COMMANDS)) {
    section(
      `Options of '${command}':`,
      Object.entries(spec.options).map(([option, o]): [string, string] => [`--${option}`, o.description]),
    );
  }
  const width = Math.max(...rows.map(([left, right]) => (right === '' ? 0 : left.length))) + 2;
  const body = rows.map(([left, right]) => (right === '' ? left : left.padEnd(width) + right)).join('\n');
  return `flowstate ${version}: a workflow engine for multi-agent tasks, built on XState v5\n\nUsage: flowstate <command> [options]\n${body}\n`;
}
