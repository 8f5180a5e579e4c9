#!/usr/bin/env node
/**
 * The `flowstate` command. Usage mistakes exit 2 with one line on stderr; a failed run exits 1; a run that waits
 * on a human decision exits 3; a signal no engine applied in time (`runs decide|send|cancel`) exits 4. One module
 * per command: `commands/*.ts`, `paths-command.ts`, `verify-command.ts`.
 */
import { createRequire } from 'node:module';
import { templates } from '../../machines/index.js';
import { type Invocation, parseInvocation } from './args.js';
import { runDescribe } from './commands/describe.js';
import { runList } from './commands/list.js';
import { runTemplateCommand } from './commands/run.js';
import { runRunsCommand } from './commands/runs.js';
import { runServeCommand } from './commands/serve.js';
import { runShowcase } from './commands/showcase.js';
import { runWorkerCommand } from './commands/worker.js';
import { type CliIO, runDemo } from './demo-command.js';
import { commandHelp, helpText } from './help.js';
import { runPathsCommand } from './paths-command.js';
import { runVerifyCommand } from './verify-command.js';

/** The package version, from the nearest package.json above this file (in `src/cli/` or `dist/src/cli/`). */
export function packageVersion(): string {
  const require = createRequire(import.meta.url);
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(up) as { name?: unknown; version?: unknown };
      if (pkg.name === 'flowstate') return String(pkg.version);
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/** Runs the CLI on the arguments after `flowstate` and returns the exit code. */
export async function main(args: readonly string[], io: CliIO): Promise<number> {
  // `serve` parses its own options (commands/serve.ts).
  if (args[0] === 'serve') return runServeCommand(args.slice(1), io);
  const invocation = parseInvocation(args);
  switch (invocation.kind) {
    case 'help':
      io.out((invocation.command ? commandHelp(invocation.command) : helpText(packageVersion())).trimEnd());
      return 0;
    case 'version':
      io.out(packageVersion());
      return 0;
    case 'usage':
      io.err(`flowstate: ${invocation.message}. Run 'flowstate --help' for usage.`);
      return 2;
    case 'demo':
      return runDemo(invocation, io);
    case 'raw':
      if (invocation.command === 'runs') return runRunsCommand(invocation.args, io);
      return (invocation.command === 'paths' ? runPathsCommand : runVerifyCommand)(invocation.args, io, {
        templates,
      });
    case 'command':
      return runCommand(invocation, io);
  }
}

/** The commands that take their arguments from {@link parseInvocation}. */
function runCommand(
  invocation: Extract<Invocation, { kind: 'command' }>,
  io: CliIO,
): Promise<number> | number {
  const { values } = invocation;
  const [template = ''] = invocation.positionals;
  const text = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
  switch (invocation.command) {
    case 'list':
      return runList(io);
    case 'describe':
      return runDescribe(template, io);
    case 'run':
      return runTemplateCommand(
        template,
        {
          db: text('db'),
          input: text('input'),
          json: values.json === true,
          seed: values.seed === true,
          inspect: text('inspect') ?? text('inspect-url') ?? values.inspect === true,
          store: text('store'),
          agents: text('agents'),
          model: text('model'),
          modelUrl: text('model-url'),
        },
        io,
      );
    case 'showcase':
      return runShowcase(io);
    case 'serve':
      // Reached only if `serve` is not the first word (main dispatches it before parsing otherwise).
      return runServeCommand(
        Object.entries(values).flatMap(([k, v]) => (v === true ? [`--${k}`] : [`--${k}`, v])),
        io,
      );
    case 'worker':
      return runWorkerCommand(
        {
          redis: text('redis'),
          queue: text('queue'),
          agents: text('agents'),
          concurrency: text('concurrency'),
          lock: text('lock'),
          db: text('db'),
        },
        io,
      );
  }
}

// `flowstate demo | head` closes the pipe early: that is the reader's choice, not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});
const io: CliIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
// Set the code rather than calling process.exit, so buffered output is flushed before Node exits.
process.exitCode = await main(process.argv.slice(2), io);
