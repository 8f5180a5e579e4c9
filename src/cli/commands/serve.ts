/**
 * `flowstate serve --store <url> [--port 4477] [--host 127.0.0.1] [--token <t> | --read-only] [--workflows <module>]
 * [--max-body 1mb]`:
 * the local web view of the runs in a store (docs/observe.md). It reads the runs from the store, so it shows those of
 * every process on it. Its writes go through the store's inbox to the runs' owners; one to a template run no live
 * engine holds is applied at once (taken and handed back, src/cli/signal-run.ts). Runs until SIGINT or SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { templates } from '../../../machines/index.js';
import { isStateMachine, machineDefinition } from '../../dsl/handwritten.js';
import type { AnyWorkflowDefinition } from '../../model/definition.js';
import type { WorkflowStore } from '../../persistence/types.js';
import type { CliIO } from '../demo-command.js';
import { UsageError } from '../paths-command.js';
import { createServeApp } from '../serve/app.js';
import { loadAssets } from '../serve/assets.js';
import { serveRegistry } from '../serve/registry.js';
import { openStore, storeUrl } from '../store-url.js';

/** What `flowstate serve` takes from the command line (strings as typed, checked here). */
interface ServeCommandOptions {
  readonly store: string | undefined;
  readonly port: string | undefined;
  readonly host: string | undefined;
  readonly token: string | undefined;
  readonly readOnly: boolean;
  readonly workflows: string | undefined;
  readonly maxBody: string | undefined;
}

/** The help of `flowstate serve --help`. */
const HELP = `Usage: flowstate serve --store <url> [options]

The web view of the runs in a store: live statecharts, step logs, signals, /metrics (docs/observe.md).

Options:
  --store <url>         sqlite:<path> or postgres://... (default: $FLOWSTATE_STORE)
  --port <n>            the port to listen on (default 4477; 0 picks a free one)
  --host <address>      the address to listen on (default 127.0.0.1)
  --token <t>           the token writes need (default: a random one, printed at start)
  --read-only           allow no writes at all
  --workflows <module>  a module exporting your workflow definitions, to draw their charts
  --max-body <size>     the largest body a write takes: bytes, or with kb or mb (default 1mb); larger is a 413`;

/** Parses the arguments after `serve`; a {@link UsageError} names the offending word. */
function parseServe(args: readonly string[]): ServeCommandOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      store: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'read-only': { type: 'boolean' },
      workflows: { type: 'string' },
      'max-body': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: false,
  });
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' for 'serve'`);
  for (const [name, value] of Object.entries(values)) {
    const flag = name === 'read-only' || name === 'help';
    if (!['store', 'port', 'host', 'token', 'read-only', 'workflows', 'max-body', 'help'].includes(name))
      throw new UsageError(`unknown option '--${name}' for 'serve'`);
    if (flag && typeof value === 'string') throw new UsageError(`option '--${name}' takes no value`);
    if (!flag && typeof value !== 'string') throw new UsageError(`option '--${name}' needs a value`);
  }
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  return {
    store: text('store'),
    port: text('port'),
    host: text('host'),
    token: text('token'),
    readOnly: values['read-only'] === true,
    workflows: text('workflows'),
    maxBody: text('max-body'),
  };
}

/**
 * Serves until SIGINT or SIGTERM (exit 0); 2 for a usage mistake, 1 when the port is taken or the module fails.
 *
 * @example
 * ```ts
 * await runServeCommand(['--store', 'sqlite:./flowstate.db', '--port', '4477'], io);
 * ```
 */
export async function runServeCommand(args: readonly string[], io: CliIO): Promise<number> {
  let options: ServeCommandOptions;
  let store: WorkflowStore;
  let port: number;
  let workflows: Map<string, AnyWorkflowDefinition>;
  let maxBodyBytes: number | undefined;
  try {
    const parsed = parseServe(args);
    if (parsed === 'help') {
      io.out(HELP);
      return 0;
    }
    options = parsed;
    port = options.port === undefined ? 4477 : Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new UsageError(`--port takes a port number, got '${options.port}'`);
    if (options.readOnly && options.token !== undefined)
      throw new UsageError('--token and --read-only exclude each other');
    maxBodyBytes = options.maxBody === undefined ? undefined : sizeOf(options.maxBody);
    workflows = new Map(templates.map((t) => [t.definition.id, t.definition]));
    if (options.workflows !== undefined)
      for (const d of await loadWorkflows(options.workflows)) workflows.set(d.id, d);
    store = openStore(storeUrl(options.store));
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`flowstate: ${error.message}. Run 'flowstate --help' for usage.`);
      return 2;
    }
    io.err(`flowstate: ${(error as Error).message}`);
    return 1;
  }
  const token = options.readOnly ? undefined : (options.token ?? randomBytes(18).toString('base64url'));
  const registry = serveRegistry(store);
  const { app, close } = createServeApp({
    store,
    workflows,
    registry,
    assets: loadAssets(),
    ...(token === undefined ? {} : { token }),
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise<number>((done) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${info.port}/`;
      io.out(
        `flowstate serve: ${url} (${workflows.size} workflow definitions, store ${redact(options.store ?? '$FLOWSTATE_STORE')})`,
      );
      if (token === undefined) io.out('read-only: no writes allowed');
      else if (options.token === undefined)
        io.out(`write token: ${token}\nopen ${url}#token=${token} to act on runs`);
      else io.out('writes need the token given with --token');
    });
    server.on('error', (error: NodeJS.ErrnoException) => {
      io.err(`flowstate: cannot listen on ${host}:${port} (${error.code ?? error.message})`);
      stop(1);
    });
    const stop = (code: number) => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      close();
      server.close();
      void store.close().finally(() => done(code));
    };
    const onSignal = () => stop(0);
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  });
}

/** `--max-body`: a count of bytes, or of kilobytes or megabytes (`512kb`, `4mb`: 1024 and 1024² bytes). */
function sizeOf(text: string): number {
  const match = /^(\d+)\s*(b|kb?|mb?)?$/i.exec(text.trim());
  const unit = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2 }[match?.[2]?.toLowerCase() ?? 'b'];
  const bytes = match && unit ? Number(match[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new UsageError(`--max-body takes a size (bytes, or with kb or mb: 4mb), got '${text}'`);
  return bytes;
}

/** A PostgreSQL URL's password is not printed. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * The definitions a module exports: any export that is a definition or a hand-written machine, or an array of them
 * (`export const workflows = [...]`, a default export).
 */
async function loadWorkflows(path: string): Promise<AnyWorkflowDefinition[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`--workflows: cannot load ${path} (${(error as Error).message})`);
  }
  const found: AnyWorkflowDefinition[] = [];
  const take = (value: unknown) => {
    if (isStateMachine(value)) found.push(machineDefinition(value));
    else if (isDefinition(value)) found.push(value);
  };
  for (const value of Object.values(module)) (Array.isArray(value) ? value : [value]).forEach(take);
  if (found.length === 0) throw new UsageError(`--workflows: ${path} exports no workflow definition`);
  return found;
}

function isDefinition(value: unknown): value is AnyWorkflowDefinition {
  const v = value as { id?: unknown; version?: unknown; machine?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'string' &&
    typeof v.version === 'string' &&
    isStateMachine(v.machine)
  );
}
