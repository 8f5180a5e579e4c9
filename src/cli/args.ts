/**
 * Command-line parsing with `node:util` parseArgs. Parsing is lenient (`strict: false`) and then checked here,
 * so every mistake gets one clear line naming the offending word, instead of parseArgs' generic wording.
 */
import { parseArgs } from 'node:util';

/** An option of a command: a boolean flag, or one that takes a value (`value` names it in the help). */
export interface OptionSpec {
  readonly description: string;
  readonly value?: string;
}

/**
 * A command and the options it accepts, for parsing and for the help text. `args` names its positional
 * arguments; a `raw` command parses its own arguments (everything after its name is passed through).
 */
export interface CommandSpec {
  readonly summary: string;
  readonly args?: readonly string[];
  readonly raw?: boolean;
  readonly options: Readonly<Record<string, OptionSpec>>;
}

/** Every command, by name, in the order the help lists them. */
const COMMANDS = {
  list: { summary: 'list the workflow templates', options: {} },
  describe: {
    summary: "show a template's steps and a Mermaid diagram",
    args: ['template'],
    options: {},
  },
  run: {
    summary: 'run a template on a database, with live progress and a report',
    args: ['template'],
    options: {
      db: { description: 'postgres:// URL or PGlite directory (default: PGlite in memory)', value: 'url' },
      input: { description: 'the workflow input: a JSON file or inline JSON', value: 'file|json' },
      json: { description: 'print only the output, as JSON' },
      seed: { description: 'seed the sample database first (always done without --db)' },
      inspect: {
        description: 'send the run to the Stately inspector relay at ws://127.0.0.1:8080 (docs/inspector.md)',
      },
      'inspect-url': {
        description: 'send the run to the inspector relay at this WebSocket URL',
        value: 'url',
      },
    },
  },
  showcase: { summary: 'run all five templates on the sample database (in memory)', options: {} },
  paths: {
    summary: 'print the test paths of a template or a workflow JSON file',
    args: ['template|file.json'],
    raw: true,
    options: {
      json: { description: 'print the paths as JSON' },
      strategy: { description: "'shortest' (default) or 'simple'", value: 'name' },
      input: { description: 'the input the paths start from (JSON)', value: 'json' },
      outputs: { description: 'step outputs to explore, by step (JSON)', value: 'json' },
    },
  },
  verify: {
    summary: 'check a template or a workflow JSON file (exit 1 on errors)',
    args: ['template|file.json'],
    raw: true,
    options: { json: { description: 'print the report as JSON' } },
  },
  runs: {
    summary:
      'inspect and steer the runs in a store: list, show, decide, send, cancel, resume (docs/operators.md)',
    args: ['subcommand'],
    raw: true,
    options: {
      store: { description: 'sqlite:<path> or postgres://... (default: $FLOWSTATE_STORE)', value: 'url' },
      status: { description: 'list: only runs with these statuses (running,waiting,...)', value: 's1,s2' },
      workflow: { description: 'list: only runs of this workflow', value: 'id' },
      limit: { description: 'list: at most this many runs (default 1000)', value: 'n' },
      json: { description: 'list, show: print JSON; resume: print only the output' },
      action: { description: 'decide: retry, skip or abort the escalated step', value: 'name' },
      value: { description: "decide --action skip: the step's result (JSON)", value: 'json' },
      reason: { description: 'decide --action abort, cancel: why', value: 'text' },
      timeout: {
        description: "decide, send, cancel: how long to wait for the run's owner (default 30000)",
        value: 'ms',
      },
      db: { description: "resume: the database of the template's agents, as for run", value: 'url' },
      seed: { description: 'resume: seed the sample database first (always done without --db)' },
    },
  },
  worker: {
    summary: "run the agents of a queue's steps for engines on Redis (docs/distributed.md)",
    options: {
      redis: { description: 'redis:// URL (default: $FLOWSTATE_REDIS)', value: 'url' },
      queue: {
        description: "the queue to consume (a step's `queue`, or the engines' defaultQueue)",
        value: 'name',
      },
      agents: {
        description: 'a module exporting the agent registry (`agents` or default export)',
        value: 'module',
      },
      concurrency: { description: 'jobs run at once by this process (default 1)', value: 'n' },
      lock: {
        description: "a job's lock: a dead worker's jobs run elsewhere within about twice this (default 30000)",
        value: 'ms',
      },
    },
  },
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

/** A command that takes its positional arguments and options from here. */
export type ParsedCommandName = Exclude<CommandName, 'demo' | 'paths' | 'verify' | 'runs'>;

/** A command that parses its own arguments. */
export type RawCommandName = 'paths' | 'verify' | 'runs';

/** What the command line asks for. `usage` errors exit with code 2. */
export type Invocation =
  | { readonly kind: 'help' }
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

const specOf = (command: CommandName): CommandSpec => COMMANDS[command];

/** Parses the arguments after `flowstate` (`process.argv.slice(2)`). Never throws. */
export function parseInvocation(args: readonly string[]): Invocation {
  // An option has one type whichever command declares it (`--input` takes a value for both `run` and `paths`).
  const commandOptions: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const c of Object.keys(COMMANDS) as CommandName[]) {
    for (const [name, o] of Object.entries(specOf(c).options))
      commandOptions[name] = { type: o.value === undefined ? 'boolean' : 'string' };
  }
  const { tokens, positionals } = parseArgs({
    args: [...args],
    options: { ...GLOBAL, ...commandOptions },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const [name, ...extra] = positionals;
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? (name as CommandName) : undefined;
  const spec = command === undefined ? undefined : specOf(command);
  const flags = new Set<string>();
  const values: Record<string, string | true> = {};
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (Object.hasOwn(GLOBAL, token.name)) {
      flags.add(token.name);
      continue;
    }
    // A raw command checks its own options.
    if (spec?.raw) continue;
    // Without a known command, a command's option is fine here: the missing or unknown command is the error.
    const option = spec === undefined ? commandOptions[token.name] : spec.options[token.name];
    if (option === undefined) {
      const where = command === undefined ? '' : ` for '${command}'`;
      return { kind: 'usage', message: `unknown option '${token.rawName}'${where}` };
    }
    const takesValue = commandOptions[token.name]?.type === 'string';
    if (!takesValue && token.value !== undefined)
      return { kind: 'usage', message: `option '${token.rawName}' takes no value` };
    if (takesValue && token.value === undefined)
      return { kind: 'usage', message: `option '${token.rawName}' needs a value` };
    values[token.name] = token.value ?? true;
  }
  if (flags.has('help')) return { kind: 'help' };
  if (flags.has('version')) return { kind: 'version' };
  if (name === undefined) return { kind: 'usage', message: 'missing command' };
  if (command === undefined || spec === undefined)
    return { kind: 'usage', message: `unknown command '${name}'` };
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

/** The `--help` text. */
export function helpText(version: string): string {
  const rows: Array<[string, string]> = [];
  const section = (title: string, entries: Array<[string, string]>) => {
    rows.push(['', ''], [title, '']);
    rows.push(...entries.map(([left, right]): [string, string] => [`  ${left}`, right]));
  };
  section(
    'Commands:',
    Object.entries(COMMANDS).map(([command, spec]: [string, CommandSpec]): [string, string] => [
      [command, ...(spec.args ?? []).map((a) => `<${a}>`)].join(' '),
      spec.summary,
    ]),
  );
  section('Options:', [
    ['-h, --help', 'show this help'],
    ['-v, --version', 'print the version'],
  ]);
  for (const [command, spec] of Object.entries(COMMANDS) as Array<[string, CommandSpec]>) {
    const options = Object.entries(spec.options);
    if (options.length === 0) continue;
    section(
      `Options of '${command}':`,
      options.map(([option, o]): [string, string] => [
        `--${option}${o.value === undefined ? '' : ` <${o.value}>`}`,
        o.description,
      ]),
    );
  }
  const width = Math.max(...rows.map(([left, right]) => (right === '' ? 0 : left.length))) + 2;
  const body = rows.map(([left, right]) => (right === '' ? left : left.padEnd(width) + right)).join('\n');
  return `flowstate ${version}: a workflow engine for multi-agent tasks, built on XState v5\n\nUsage: flowstate <command> [options]\n${body}\n`;
}
