/**
 * The commands of `flowstate` and the options each accepts: one table that the parser (`args.ts`) and the help
 * (`help.ts`) both read, so an option cannot be parsed without being documented, or the other way round.
 */

/**
 * An option of a command: a boolean flag, or one that takes a value (`value` names it in the help). An `optional`
 * value may be left out (`--inspect` alone, or `--inspect=<url>`): it is only taken in the `--name=value` form, so
 * the word after a bare `--inspect` stays a positional.
 */
export interface OptionSpec {
  readonly description: string;
  readonly value?: string;
  readonly optional?: boolean;
}

/**
 * A command and the options it accepts, for parsing and for the help text. `args` names its positional
 * arguments; a `raw` command parses its own arguments (everything after its name is passed through); `examples`
 * and `more` are shown by `flowstate help <command>`.
 */
export interface CommandSpec {
  readonly summary: string;
  readonly args?: readonly string[];
  readonly raw?: boolean;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples?: readonly string[];
  readonly more?: string;
}

/** Every command, by name, in the order the help lists them. */
export const COMMANDS = {
  list: { summary: 'list the workflow templates', options: {} },
  describe: {
    summary: "show a template's steps and a Mermaid diagram",
    args: ['template'],
    options: {},
    examples: ['flowstate describe migration'],
  },
  run: {
    summary: 'run a template on a database, with live progress and a report',
    args: ['template'],
    options: {
      db: {
        description: 'postgres:// URL or an existing PGlite directory (default: PGlite in memory)',
        value: 'url',
      },
      input: { description: 'the workflow input: a JSON file or inline JSON', value: 'file|json' },
      json: { description: 'print only the output, as JSON' },
      seed: {
        description:
          'seed the sample database first (always done without --db); creates a new PGlite directory',
      },
      store: {
        description:
          'keep the run in this store (sqlite:<path> or postgres://...): the ETA starts from what it learned',
        value: 'url',
      },
      inspect: {
        description:
          'send the run to the Stately inspector relay (default ws://127.0.0.1:8080; docs/inspector.md)',
        value: 'url',
        optional: true,
      },
      'inspect-url': { description: 'the same as --inspect=<url>', value: 'url' },
      agents: {
        description: "a module exporting agents (`agents`, or default) merged over the template's, by name",
        value: 'module',
      },
      model: {
        description:
          "fill the template's LLM step with this model: openai-compatible:<id>, openai:<id>, anthropic:<id> (docs/ai.md)",
        value: 'provider:model',
      },
      'model-url': {
        description: "the base URL of --model's server, such as http://127.0.0.1:8080/v1",
        value: 'url',
      },
    },
    examples: [
      'flowstate run schema-analysis',
      `flowstate run migration --input '{"sql": "DROP TABLE audit_log", "approvedBy": "ann"}'`,
      'flowstate run data-validation --db postgres://app@localhost/shop --json',
      'flowstate run query-generation --inspect=ws://127.0.0.1:8080',
      'flowstate run query-generation --model openai-compatible:qwen2.5-coder --model-url http://127.0.0.1:8080/v1',
      'flowstate run query-generation --agents ./my-agents.js',
    ],
    more: 'Exit codes: 0 done; 1 failed or compensated; 2 a usage mistake; 3 waits on a human decision; 130 Ctrl-C.',
  },
  showcase: {
    summary: 'run all five templates on the sample database (in memory)',
    options: {},
    more: 'Exit codes: 0 every template finished; 1 one did not; 130 Ctrl-C.',
  },
  paths: {
    summary: 'print the test paths of a template or a workflow JSON file',
    args: ['template|file.json'],
    raw: true,
    options: {
      json: { description: 'print the paths as JSON' },
      strategy: { description: "'shortest' (default) or 'simple'", value: 'name' },
      input: {
        description: 'the input the paths start from (JSON); repeat it to walk several',
        value: 'json',
      },
      outputs: { description: 'step outputs to explore, by step (JSON)', value: 'json' },
      guards: {
        description: 'a JavaScript module exporting the `guards` and `mappings` the workflow names',
        value: 'module',
      },
    },
    examples: [
      'flowstate paths migration',
      'flowstate paths review.workflow.json --json',
      `flowstate paths triage.workflow.json --guards ./guards.js --input '{"urgent":true}' --input '{"urgent":false}'`,
    ],
  },
  verify: {
    summary:
      'check a template or a workflow JSON file (exit 1 on errors; 2 for a file that cannot be read, is not JSON or is not a workflow)',
    args: ['template|file.json'],
    raw: true,
    options: { json: { description: 'print the report as JSON' } },
    examples: ['flowstate verify review.workflow.json'],
  },
  runs: {
    summary:
      'inspect and steer the runs in a store: list, show, decide, send, cancel, resume, prune (docs/operators.md)',
    args: ['subcommand'],
    raw: true,
    options: {
      store: { description: 'sqlite:<path> or postgres://... (default: $FLOWSTATE_STORE)', value: 'url' },
      status: { description: 'list: only runs with these statuses (running,waiting,...)', value: 's1,s2' },
      workflow: { description: 'list: only runs of this workflow', value: 'id' },
      limit: {
        description: 'list: at most this many runs (default 1000); prune: at most this many (default all)',
        value: 'n',
      },
      json: { description: 'list, show, prune: print JSON; resume: print only the output' },
      action: { description: 'decide: retry, skip or abort the escalated step', value: 'name' },
      value: { description: "decide --action skip: the step's result (JSON)", value: 'json' },
      reason: { description: 'decide --action abort, cancel: why', value: 'text' },
      timeout: {
        description: "decide, send, cancel: how long to wait for the run's owner (default 30000)",
        value: 'ms',
      },
      'signal-id': {
        description: 'decide, send, cancel: a name for the signal; run again under it, it is applied once',
        value: 'name',
      },
      db: { description: "resume: the database of the template's agents, as for run", value: 'url' },
      seed: {
        description:
          'resume: seed the sample database first (always done without --db); creates a new PGlite directory',
      },
      'ended-before': {
        description:
          'prune: delete the runs that ended before this: an age (30d, 12h, 90m, 45s, 2w) or an ISO date',
        value: 'age|date',
      },
      'dry-run': { description: 'prune: count the runs it would delete, delete nothing' },
    },
    examples: [
      'flowstate runs list [--status s1,s2] [--workflow id] [--limit n] [--json]',
      'flowstate runs show <run> [--json]',
      'flowstate runs decide <run> <stepPath> --action retry|skip|abort [--value <json>] [--reason <text>]',
      "flowstate runs send <run> '<event-json>'",
      'flowstate runs cancel <run> [--reason <text>]',
      'flowstate runs resume <run> [--db <url>] [--seed] [--json]',
      'flowstate runs prune --ended-before 30d [--limit n] [--dry-run] [--json]',
    ],
    more: 'Exit codes: 0 ok; 1 refused by the owner (or the resumed run failed); 2 a usage mistake or an unknown run; 3 the resumed run waits on a human; 4 no live engine applied the signal in time.',
  },
  serve: {
    summary: 'a local web view of the runs in a store, with /metrics (docs/observe.md)',
    options: {
      store: { description: 'sqlite:<path> or postgres://... (default: $FLOWSTATE_STORE)', value: 'url' },
      port: { description: 'the port to listen on (default 4477)', value: 'n' },
      host: { description: 'the address to listen on (default 127.0.0.1)', value: 'host' },
      token: {
        description: 'the token every write needs (default: generated, printed at start)',
        value: 't',
      },
      'read-only': { description: 'serve without writes (no token)' },
      workflows: { description: 'a module exporting more workflow definitions to draw', value: 'module' },
      'max-body': { description: 'the largest body a write takes (default 1mb; larger: 413)', value: 'size' },
    },
    examples: ['flowstate serve --store sqlite:./flowstate.db'],
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
        description: "a module exporting the agent registry (`agents` or default export), or 'template:<id>'",
        value: 'module',
      },
      db: { description: "with --agents template:<id>: the agents' database, as for run", value: 'url' },
      concurrency: { description: 'jobs run at once by this process (default 1)', value: 'n' },
      lock: {
        description:
          "a job's lock: a dead worker's jobs run elsewhere within about twice this (default 30000)",
        value: 'ms',
      },
    },
    examples: [
      'flowstate worker --redis redis://127.0.0.1:6379 --queue sql --agents ./agents.js --concurrency 8',
      'flowstate worker --redis redis://127.0.0.1:6379 --queue sql --agents template:schema-analysis --db postgres://...',
    ],
  },
  demo: {
    summary: 'run a demo workflow (review a SQL change) with live progress',
    options: {
      json: { description: 'print only the final output, as JSON' },
      fail: { description: 'make the lint agent fail on every attempt, to see a failed run' },
    },
  },
  help: {
    summary: "show the help, or a command's help",
    args: ['command'],
    options: {},
    examples: ['flowstate help run'],
  },
} as const satisfies Readonly<Record<string, CommandSpec>>;

/** A command name. */
export type CommandName = keyof typeof COMMANDS;

/**
 * The spec of a command.
 *
 * @example
 * ```ts
 * Object.keys(specOf('run').options); // ['db', 'input', ...]
 * ```
 */
export const specOf = (command: CommandName): CommandSpec => COMMANDS[command];

/**
 * Whether `name` is a command.
 *
 * @example
 * ```ts
 * isCommand('run'); // true
 * ```
 */
export const isCommand = (name: string | undefined): name is CommandName =>
  name !== undefined && Object.hasOwn(COMMANDS, name);
