/**
 * Running one template's workflow for `flowstate run` and `showcase`: the library's terminal reporter shows it
 * (a live frame with bars and an ETA that moves on a TTY; plain lines with the percent and ETA when piped), the
 * CLI's step log (`lines.ts`: retries with their reasons, branch arms, loop rounds) is printed through it, and
 * Ctrl-C cancels the run. A run that starts waiting on a human is stopped (without a store) or left waiting in the
 * store for `flowstate runs decide` and `runs resume` (with one).
 */
import { pino } from 'pino';
import type { AnyActorRef } from 'xstate';
import type { AnyTemplate } from '../../../machines/index.js';
import type { Database } from '../../db/port.js';
import { actorTree, isStepSnapshot } from '../../machine/actor-tree.js';
import type { AgentRegistry } from '../../model/agent.js';
import { combineInspection } from '../../observability/inspect.js';
import { createLogger } from '../../observability/logger.js';
import type { WorkflowStore } from '../../persistence/types.js';
import type { DurationHistory } from '../../progress/history.js';
import { observableClass } from '../../progress/observable.js';
import type { ReporterStream } from '../../progress/reporters/format.js';
import { type TerminalReporter, terminalReporter } from '../../progress/reporters/terminal.js';
import { trackProgress } from '../../progress/track.js';
import { createEngine } from '../../runtime/engine.js';
import type { CliIO } from '../demo-command.js';
import { cliInspector } from '../inspector.js';
import type { Interrupt } from '../interrupt.js';
import { type ProgressStats, progressLines } from '../lines.js';

/** How a template run ended. With a store, a waiting run is left there, under `runId`. */
export type Outcome =
  | { readonly status: 'done'; readonly output: unknown; readonly ms: number; readonly stats: ProgressStats }
  | {
      readonly status: 'waiting';
      readonly steps: readonly string[];
      /** Why each escalated step waits: its last attempt's error message (scrubbed of the run's secrets). */
      readonly reasons: readonly { readonly step: string; readonly reason: string }[];
      readonly ms: number;
      readonly runId?: string | undefined;
    }
  | { readonly status: 'failed' | 'compensated' | 'cancelled'; readonly error: unknown; readonly ms: number };

/** How progress is shown: a frame redrawn in place (a TTY), plain lines, or nothing (`--json`). */
export type ProgressView = 'live' | 'lines' | 'none';

/** Options of {@link executeTemplate}. */
export interface ExecuteOptions {
  readonly template: AnyTemplate;
  readonly db: Database;
  readonly input: unknown;
  readonly io: CliIO;
  readonly progress: ProgressView;
  /** Where the live frame is drawn. @default process.stdout */
  readonly stream?: ReporterStream;
  /** Send the run to the Stately inspector: `true` for the default relay, or its URL. */
  readonly inspect?: boolean | string | undefined;
  /** Ctrl-C cancels the run through it (else Ctrl-C is left to the caller). */
  readonly interrupt?: Interrupt | undefined;
  /** What earlier runs learned, for the ETA (ignored with a store, whose history the engine uses). */
  readonly history?: DurationHistory | undefined;
  /** Keep the run in this store (closed with the engine). */
  readonly store?: WorkflowStore | undefined;
  /** Agents that replace the template's by name (`--agents`, `--model`). */
  readonly agents?: AgentRegistry | undefined;
}

/** How often the frame is recomputed while nothing happens (a long step): its bars and the ETA move on. */
const TICK_MS = { live: 250, lines: 1_000 } as const;

/**
 * Runs a template's workflow with its agents and guards on `db` until it ends or waits on a human.
 *
 * @example
 * ```ts
 * const outcome = await executeTemplate({ template, db, input: template.exampleInput, io, progress: 'lines' });
 * ```
 */
export async function executeTemplate(options: ExecuteOptions): Promise<Outcome> {
  const { template, io, progress: view } = options;
  const started = Date.now();
  // The step log goes through the reporter once it exists (above its live frame on a TTY), straight out before.
  let log: (line: string) => void = io.out;
  const lines =
    view === 'none' ? undefined : progressLines({ definition: template.definition, write: (l) => log(l) });
  // Engine logs would interleave with the progress (and break --json): silent unless asked for, on stderr.
  const logger = createLogger(
    { level: process.env.FLOWSTATE_LOG_LEVEL ?? 'silent' },
    pino.destination({ dest: 2, sync: true }),
  );
  const inspector = await cliInspector(options.inspect, io);
  const inspect = combineInspection(lines?.inspect, inspector);
  const learned = options.store
    ? { store: options.store }
    : options.history
      ? { history: options.history }
      : {};
  const engine = createEngine({
    ...(inspect ? { inspect } : {}),
    agents: { ...template.agents(options.db), ...options.agents },
    logger,
    ...(template.guards ? { guards: template.guards } : {}),
    ...learned,
  });
  let reporter: TerminalReporter | undefined;
  // rxjs loads with the first stream: before the run starts, so that its loading is not in the run's elapsed time
  // (the first progress line would say 1% on a loaded machine).
  if (view !== 'none') observableClass();
  try {
    const run = engine.start(template.definition, options.input);
    if (view !== 'none') {
      const progress$ = trackProgress(run.actor, { tickMs: TICK_MS[view] });
      reporter =
        view === 'live'
          ? terminalReporter(progress$, { stream: options.stream ?? process.stdout, tty: true })
          : terminalReporter(progress$, { stream: lineStream(io), tty: false, steps: false });
      log = reporter.log;
    }
    const cancel = () => run.cancel('Interrupted (Ctrl-C)');
    const ended = options.interrupt ? options.interrupt.cancelling(cancel, () => settle(run)) : settle(run);
    const first = await ended;
    // What follows the outcome (a waiting step stopped or handed over) is no news: the step log ends here.
    log = () => {};
    // A waiting run's progress does not complete: its reporter is stopped, the frame left as it is.
    if (first.kind === 'waiting') reporter?.stop();
    await reporter?.done;
    const ms = Date.now() - started;
    if (first.kind === 'done') {
      return {
        status: 'done',
        output: first.output,
        ms,
        stats: lines?.stats() ?? { stepsDone: 0, retries: 0 },
      };
    }
    if (first.kind === 'waiting') {
      // Without a store nobody could decide later: the run is stopped. With one, it waits there.
      if (!options.store) {
        run.cancel('Waiting on a human decision: stopped by the CLI');
        await run.result.catch(() => {});
      }
      return {
        status: 'waiting',
        steps: first.steps,
        reasons: first.reasons,
        ms,
        runId: options.store ? run.id : undefined,
      };
    }
    const status = run.status;
    const how = status === 'compensated' || status === 'cancelled' ? status : 'failed';
    return { status: how, error: first.error, ms };
  } finally {
    reporter?.stop();
    await engine.close();
    // Delivers the last events (its relay answered at the start; if it went away since, 1 s at most).
    await inspector?.close(1_000);
  }
}

type Settled =
  | { readonly kind: 'done'; readonly output: unknown }
  | { readonly kind: 'waiting'; readonly steps: readonly string[]; readonly reasons: WaitReason[] }
  | { readonly kind: 'failed'; readonly error: unknown };

type WaitReason = { readonly step: string; readonly reason: string };

/** Why the escalated steps of a run wait: the error of each one's last attempt. Read before the run is stopped. */
function escalationReasons(root: AnyActorRef): WaitReason[] {
  const reasons: WaitReason[] = [];
  for (const actor of actorTree(root)) {
    const s = actor.getSnapshot();
    if (!isStepSnapshot(s) || s.status !== 'active' || s.phase !== 'escalated') continue;
    const message = s.history.at(-1)?.error?.message;
    if (message) reasons.push({ step: s.input.path, reason: message });
  }
  return reasons;
}

/** How the run settles first: it ends, or it starts waiting on a human (polled: no event tells it). */
async function settle(run: ReturnType<ReturnType<typeof createEngine>['start']>): Promise<Settled> {
  let poll: NodeJS.Timeout | undefined;
  const waiting = new Promise<Settled>((resolve) => {
    poll = setInterval(() => {
      if (run.status === 'waiting')
        resolve({ kind: 'waiting', steps: run.waitingSteps(), reasons: escalationReasons(run.actor) });
    }, 50);
  });
  try {
    return await Promise.race([
      run.result.then(
        (output): Settled => ({ kind: 'done', output }),
        (error: unknown): Settled => ({ kind: 'failed', error }),
      ),
      waiting,
    ]);
  } finally {
    clearInterval(poll);
  }
}

/** The reporter's plain lines as `io.out` lines (it writes each with its newline). */
function lineStream(io: CliIO): ReporterStream {
  return { write: (chunk: string) => io.out(chunk.replace(/\n$/, '')), isTTY: false };
}
