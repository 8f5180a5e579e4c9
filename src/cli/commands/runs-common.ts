/**
 * What the `flowstate runs` subcommands share: their option parsing, the engine they signal runs with, and how an
 * error maps to an exit code (0 ok; 1 refused or failed; 2 usage or unknown run; 3 waits on a human; 4 no live
 * owner applied the signal in time).
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { templates } from '../../../machines/index.js';
import type { Database } from '../../db/port.js';
import type { AgentFunction, AgentRegistry } from '../../model/agent.js';
import { FlowstateError } from '../../model/errors.js';
import { createLogger } from '../../observability/logger.js';
import type { WorkflowStore } from '../../persistence/types.js';
import { createEngine } from '../../runtime/engine.js';
import type { Engine, EngineOptions } from '../../runtime/engine-types.js';
import type { CliIO } from '../demo-command.js';
import { UsageError } from '../paths-command.js';

/** The subcommands of `flowstate runs`, with the options each accepts (`true` takes a value) and positionals. */
const RUNS_SUBCOMMANDS = {
  list: { args: [], options: { status: true, workflow: true, limit: true, json: false } },
  show: { args: ['run'], options: { json: false } },
  decide: {
    args: ['run', 'stepPath'],
    options: { action: true, value: true, reason: true, timeout: true, 'signal-id': true },
  },
  send: { args: ['run', 'event-json'], options: { timeout: true, 'signal-id': true } },
  cancel: { args: ['run'], options: { reason: true, timeout: true, 'signal-id': true } },
  resume: { args: ['run'], options: { db: true, seed: false, json: false } },
  prune: { args: [], options: { 'ended-before': true, limit: true, 'dry-run': false, json: false } },
} as const satisfies Record<string, { args: readonly string[]; options: Record<string, boolean> }>;

/** A subcommand name. */
export type RunsSubcommand = keyof typeof RUNS_SUBCOMMANDS;

/** A parsed `flowstate runs <subcommand> ...`. */
export interface RunsInvocation {
  readonly sub: RunsSubcommand;
  /** The positionals after the subcommand, as many as it takes. */
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | true>>;
}

/** Exit codes of `flowstate runs`. */
export const EXIT = { ok: 0, refused: 1, usage: 2, waiting: 3, timeout: 4 } as const;

/**
 * Parses the arguments after `runs`. Throws a {@link UsageError} naming the offending word.
 *
 * @example
 * ```ts
 * parseRuns(['decide', 'r1', 'review', '--action', 'skip']); // { sub: 'decide', positionals: ['r1', 'review'], ... }
 * ```
 */
export function parseRuns(args: readonly string[]): RunsInvocation {
  const types: Record<string, { type: 'string' | 'boolean' }> = { store: { type: 'string' } };
  for (const spec of Object.values(RUNS_SUBCOMMANDS))
    for (const [name, takesValue] of Object.entries(spec.options))
      types[name] = { type: takesValue ? 'string' : 'boolean' };
  const { tokens, positionals } = parseArgs({
    args: [...args],
    options: types,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const [name, ...rest] = positionals;
  const known = Object.keys(RUNS_SUBCOMMANDS).join(', ');
  if (name === undefined) throw new UsageError(`missing <subcommand> for 'runs' (${known})`);
  if (!Object.hasOwn(RUNS_SUBCOMMANDS, name))
    throw new UsageError(`unknown subcommand 'runs ${name}' (${known})`);
  const sub = name as RunsSubcommand;
  const spec = RUNS_SUBCOMMANDS[sub];
  const allowed: Record<string, boolean> = { store: true, ...spec.options };
  const values: Record<string, string | true> = {};
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const takesValue = allowed[token.name];
    if (takesValue === undefined) throw new UsageError(`unknown option '${token.rawName}' for 'runs ${sub}'`);
    if (!takesValue && token.value !== undefined)
      throw new UsageError(`option '${token.rawName}' takes no value`);
    if (takesValue && token.value === undefined)
      throw new UsageError(`option '${token.rawName}' needs a value`);
    values[token.name] = token.value ?? true;
  }
  const wanted: readonly string[] = spec.args;
  if (rest.length < wanted.length) throw new UsageError(`missing <${wanted[rest.length]}> for 'runs ${sub}'`);
  if (rest.length > wanted.length)
    throw new UsageError(`unexpected argument '${rest[wanted.length]}' for 'runs ${sub}'`);
  return { sub, positionals: rest, values };
}

/** A string option's value, or `undefined`. */
export function text(values: RunsInvocation['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * `--timeout <ms>` (or `--limit <n>`): a positive integer. @default `fallback`
 *
 * @example
 * ```ts
 * const timeoutMs = positiveInt(text(values, 'timeout'), '--timeout', 30_000);
 * ```
 */
export function positiveInt(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`${option} takes a positive whole number, got '${value}'`);
  return n;
}

/** The engine's logs, on stderr and silent unless `FLOWSTATE_LOG_LEVEL` asks for them (stdout stays the output's). */
export function cliLogger() {
  return createLogger(
    { level: process.env.FLOWSTATE_LOG_LEVEL ?? 'silent' },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A database no agent of the signal engine may use: it never runs a step (see {@link parkedAgents}). */
const NO_DATABASE = new Proxy(
  {},
  {
    get(_target, key) {
      throw new Error(`flowstate runs runs no step, so it has no database (asked for '${String(key)}')`);
    },
  },
) as Database;

/**
 * An agent that never does the work: it waits until its attempt is stopped. The signal engine registers the
 * templates' definitions with these, so a signal to a run no live engine owns is applied here (the engine takes
 * the run, applies the signal and commits it) and the run is handed back at `close()` before any step runs here:
 * the step that started is stopped unjournaled, and runs again on the engine that takes the run next.
 */
const parked: AgentFunction = (_input, ctx) =>
  new Promise((_resolve, reject) => {
    const stop = () => reject(ctx.signal.reason ?? new Error('handed over'));
    if (ctx.signal.aborted) stop();
    else ctx.signal.addEventListener('abort', stop, { once: true });
  });

function parkedAgents(): AgentRegistry {
  const agents: Record<string, AgentFunction> = {};
  for (const template of templates)
    for (const name of Object.keys(template.agents(NO_DATABASE))) agents[name] = parked;
  return agents;
}

/**
 * The engine the signal commands use: the templates' definitions registered (with parked agents), on `store`,
 * taking no run over in the background (`adopt: false`). Always `await engine.close()`.
 *
 * @example
 * ```ts
 * const engine = signalEngine(openStore(url));
 * try { await engine.cancel(id, 'by hand'); } finally { await engine.close(); }
 * ```
 */
export function signalEngine(store: WorkflowStore, options: Partial<EngineOptions> = {}): Engine {
  const guards = Object.assign({}, ...templates.map((t) => t.guards ?? {}));
  return createEngine({
    store,
    workflows: templates.map((t) => t.definition),
    agents: parkedAgents(),
    guards,
    logger: cliLogger(),
    lease: { adopt: false },
    ...options,
  });
}

/**
 * Prints an error of a `runs` command and returns its exit code: 2 for a usage mistake or an unknown run, 4 for a
 * signal no engine applied in time, 1 for the rest (a refusal by the run's owner, a store that cannot be reached).
 *
 * @example
 * ```ts
 * try { ... } catch (error) { return runsFailure(error, io); }
 * ```
 */
export function runsFailure(error: unknown, io: CliIO, runId?: string): number {
  if (
    error instanceof UsageError ||
    (error as { code?: unknown })?.code?.toString().startsWith('ERR_PARSE_ARGS')
  ) {
    io.err(`flowstate: ${(error as Error).message}. Run 'flowstate --help' for usage.`);
    return EXIT.usage;
  }
  if (error instanceof FlowstateError && error.code === 'RUN_NOT_FOUND') {
    io.err(`flowstate: no run ${runId ?? error.workflowId ?? '?'} in the store`);
    return EXIT.usage;
  }
  if (error instanceof FlowstateError && error.code === 'SIGNAL_TIMEOUT') {
    io.err(
      `flowstate: no engine applied the signal to run ${runId ?? error.workflowId ?? '?'} in time (no live owner, or it is busy); it stays queued and is applied when an engine takes the run`,
    );
    return EXIT.timeout;
  }
  io.err(`flowstate: ${messageOf(error)}`);
  return EXIT.refused;
}

/** An error's message; a driver's error without one (a refused connection) by its code. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== '') return error.message;
  const code = (error as { code?: unknown }).code;
  const inner = error instanceof AggregateError ? (error.errors[0] as Error | undefined)?.message : undefined;
  return `the store cannot be reached (${inner ?? (typeof code === 'string' ? code : error.name)})`;
}
