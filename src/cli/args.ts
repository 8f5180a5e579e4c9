/**
 * Command-line parsing with Node's built-in `util.parseArgs` (stable since Node 20, no dependency). Parsing is
 * lenient (`strict: false`, with tokens) and then checked here against the command's own options (`spec.ts`), so
 * every mistake gets one clear line naming the offending word and exit code 2, as documented in docs/operators.md,
 * instead of parseArgs' generic wording.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, type CommandName, type CommandSpec, isCommand, type OptionSpec, specOf } from './spec.js';

/** A command that takes its positional arguments and options from here. */
export type ParsedCommandName = Exclude<CommandName, 'demo' | 'paths' | 'verify' | 'runs' | 'help'>;

/** A command that parses its own arguments. */
export type RawCommandName = 'paths' | 'verify' | 'runs';

/** What the command line asks for. `usage` errors exit with code 2. */
export type Invocation =
  | { readonly kind: 'help'; readonly command?: CommandName }
  | { readonly kind: 'version' }
  | { readonly kind: 'demo'; readonly json: boolean; readonly fail: boolean }
  | {
      readonly kind: 'command';
      readonly command: ParsedCommandName;
      readonly positionals: readonly string[];
      readonly values: Readonly<Record<string, string | true>>;
    }
  | { readonly kind: 'raw'; readonly command: RawCommandName; readonly args: readonly string[] }
  | { readonly kind: 'usage'; readonly message: string };

const GLOBAL = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } as const;

type ParseType = { type: 'string' | 'boolean' };

/**
 * How parseArgs reads an option: one type whichever command declares it (`--input` takes a value for both `run`
 * and `paths`). An optional value is read as a flag, so `--inspect` does not swallow the next word; its
 * `--inspect=<url>` form still comes with the token's inline value.
 */
function parseTypes(): Record<string, ParseType> {
  const types: Record<string, ParseType> = {};
  for (const c of Object.keys(COMMANDS) as CommandName[]) {
    for (const [name, o] of Object.entries(specOf(c).options))
      types[name] = { type: o.value === undefined || o.optional ? 'boolean' : 'string' };
  }
  return types;
}

/**
 * Parses the arguments after `flowstate` (`process.argv.slice(2)`). Never throws.
 *
 * @example
 * ```ts
 * parseInvocation(['run', 'migration', '--help']); // { kind: 'help', command: 'run' }
 * ```
 */
export function parseInvocation(args: readonly string[]): Invocation {
  const types = parseTypes();
  const { tokens, positionals } = parseArgs({
    args: [...args],
    options: { ...GLOBAL, ...types },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const [name, ...extra] = positionals;
  const command = isCommand(name) ? name : undefined;
  const spec = command === undefined ? undefined : specOf(command);
  const flags = new Set<string>();
  const values: Record<string, string | true> = {};
  let problem: string | undefined;
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (Object.hasOwn(GLOBAL, token.name)) {
      flags.add(token.name);
      continue;
    }
    // A raw command checks its own options; the first mistake is kept, so `--help` still wins over it.
    if (spec?.raw || problem !== undefined) continue;
    problem = optionProblem(token, spec, command, types);
    if (problem === undefined) values[token.name] = token.value ?? true;
  }
  // `flowstate help <command>` and `flowstate <command> --help` show that command's help.
  if (command === 'help') {
    const [topic] = extra;
    if (topic === undefined) return { kind: 'help' };
    if (!isCommand(topic)) return { kind: 'usage', message: `unknown command '${topic}'` };
    return { kind: 'help', command: topic };
  }
  if (flags.has('help')) return command === undefined ? { kind: 'help' } : { kind: 'help', command };
  if (flags.has('version')) return { kind: 'version' };
  if (name === undefined) return { kind: 'usage', message: 'missing command' };
  if (command === undefined || spec === undefined)
    return { kind: 'usage', message: `unknown command '${name}'` };
  if (problem !== undefined) return { kind: 'usage', message: problem };
  if (command === 'paths' || command === 'verify' || command === 'runs') {
    const at = args.indexOf(command);
    return { kind: 'raw', command, args: [...args.slice(0, at), ...args.slice(at + 1)] };
  }
  const wanted = spec.args ?? [];
  if (extra.length < wanted.length)
    return { kind: 'usage', message: `missing <${wanted[extra.length]}> for '${command}'` };
  if (extra.length > wanted.length)
    return { kind: 'usage', message: `unexpected argument '${extra[wanted.length]}' for '${command}'` };
  if (command === 'demo') return { kind: 'demo', json: values.json === true, fail: values.fail === true };
  return { kind: 'command', command, positionals: extra, values };
}

/** What is wrong with one option of the command line, if anything. */
function optionProblem(
  token: { name: string; rawName: string; value?: string | undefined },
  spec: CommandSpec | undefined,
  command: CommandName | undefined,
  types: Record<string, ParseType>,
): string | undefined {
  // Without a known command, a command's option is fine here: the missing or unknown command is the error.
  const known = types[token.name] === undefined ? undefined : { description: '' };
  const option: OptionSpec | undefined = spec === undefined ? known : spec.options[token.name];
  if (option === undefined) {
    const where = command === undefined ? '' : ` for '${command}'`;
    return `unknown option '${token.rawName}'${where}`;
  }
  if (option.optional) return undefined;
  const takesValue = types[token.name]?.type === 'string';
  if (!takesValue && token.value !== undefined) return `option '${token.rawName}' takes no value`;
  if (takesValue && token.value === undefined) return `option '${token.rawName}' needs a value`;
  return undefined;
}
