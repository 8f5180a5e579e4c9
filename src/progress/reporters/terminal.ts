/**
 * The terminal reporter: on a TTY, a live frame redrawn in place (log-update does the cursor work) with an overall
 * bar and one bar per running step; elsewhere (CI logs, a pipe) plain lines, one per thing that happened.
 */
import type { Observable, Unsubscribable } from 'rxjs';
import { stepEventsOf } from '../event-source.js';
import type { StepLogEvent } from '../events.js';
import type { Progress, ProgressWaitingOn, StepProgress } from '../progress.js';
import { bar, formatMs, type Reporter, type ReporterStream, report } from './format.js';
import { closingLine, plainLines, shownPercent, waitText } from './plain-lines.js';
import { stepEventLines } from './step-lines.js';

/**
 * Options of {@link terminalReporter}.
 *
 * @example
 * ```ts
 * terminalReporter(run.progress$, { stream: process.stderr, barWidth: 30, percentStep: 25 });
 * ```
 */
export interface TerminalReporterOptions {
  /** Where the reporter writes. @default process.stdout */
  readonly stream?: ReporterStream;
  /** Draw a live frame (else print plain lines). @default whether the stream is a TTY */
  readonly tty?: boolean;
  /** Width of the bars, in characters. @default 24 */
  readonly barWidth?: number;
  /** Plain lines: print an overall line each time the percent moved this much. @default 10 */
  readonly percentStep?: number;
  /**
   * Plain lines: print a line per step start, retry (with the reason of the attempt that failed or timed out),
   * escalation and end, from the run's step log: `run.progress$` (or `trackProgress`) as it is brings it along, or
   * give it as `events`. Without either (a stream made with `pipe`), the lines follow the progress values, which a
   * throttle window thins out and which carry no retry reasons. Turn it off when you print a step log of your own
   * through {@link TerminalReporter.log} (the `flowstate` CLI does). @default true
   */
  readonly steps?: boolean;
  /** The step log the plain step lines come from (`run.events$`). @default the one `progress$` brings, if any */
  readonly events?: Observable<StepLogEvent>;
}

/**
 * What {@link terminalReporter} returns: a reporter that also prints lines of your own.
 *
 * @example
 * ```ts
 * const reporter: TerminalReporter = terminalReporter(run.progress$);
 * reporter.log('connected to the database');
 * ```
 */
export interface TerminalReporter extends Reporter {
  /**
   * Prints a line of your own (without its newline): on a TTY above the live frame, where it stays in the
   * scrollback while the frame keeps redrawing below it; elsewhere as one more plain line.
   */
  log(line: string): void;
}

/**
 * Shows a progress stream in the terminal until it completes.
 *
 * @example
 * ```ts
 * const reporter = terminalReporter(run.progress$);
 * await run.result;
 * await reporter.done;
 * ```
 */
export function terminalReporter(
  source: Observable<Progress>,
  options: TerminalReporterOptions = {},
): TerminalReporter {
  const stream = options.stream ?? process.stdout;
  const barWidth = options.barWidth ?? 24;
  if (options.tty ?? stream.isTTY === true) {
    const frame = liveFrame(stream);
    let last: Progress | undefined;
    let drawn: Promise<void> = Promise.resolve();
    const reporter = report(
      source,
      (p) => {
        last = p;
        frame.draw(renderFrame(p, barWidth).join('\n'));
      },
      () => {
        drawn = frame.end(last && [...renderFrame(last, barWidth), closingLine(last)].join('\n'));
      },
    );
    // `end` runs before `reporter.done` resolves, so `drawn` is the closing frame's by then.
    return { done: reporter.done.then(() => drawn), stop: () => reporter.stop(), log: frame.persist };
  }
  const steps = options.steps ?? true;
  // Every step event gets its line: only the percent line follows the (throttled) progress values.
  const events$ = steps ? (options.events ?? stepEventsOf(source)) : undefined;
  const lines = plainLines(options.percentStep ?? 10, steps && events$ === undefined);
  let last: Progress | undefined;
  const log = (line: string) => {
    try {
      stream.write(`${line}\n`);
    } catch {
      // Best effort, as every write of a reporter.
    }
  };
  // Subscribed first: the steps so far are printed before the first percent line, as they happened.
  const eventLog = events$ && followEvents(events$, log);
  const reporter = report(
    source,
    (p) => {
      last = p;
      for (const line of lines(p)) stream.write(`${line}\n`);
    },
    () => {
      eventLog?.unsubscribe();
      if (last) stream.write(`${closingLine(last)}\n`);
    },
  );
  return { ...reporter, log };
}

/** Prints a line per step event worth one; a printer that throws (a closed pipe) skips that line only. */
function followEvents(events$: Observable<StepLogEvent>, log: (line: string) => void): Unsubscribable {
  const line = stepEventLines();
  return events$.subscribe({
    next: (event) => {
      const text = line(event);
      if (text !== undefined) log(text);
    },
    // The step log never errors; if one did, the progress lines and the closing line still come.
    error: () => {},
  });
}

/** log-update, imported for the first live frame: it and its terminal helpers cost more than a small run. */
let logUpdate: Promise<typeof import('log-update')> | undefined;

function loadLogUpdate(): Promise<typeof import('log-update')> {
  logUpdate ??= import('log-update');
  return logUpdate;
}

/**
 * What log-update's `createLogUpdate` returns: draw a frame in place of the last one; `done()` leaves it;
 * `persist` writes lines above it, into the scrollback.
 */
type Frame = ((text: string) => void) & { done(): void; persist(text: string): void };

/**
 * A frame redrawn in place once log-update is loaded: frames drawn before that are held (the latest replaces the
 * others) and the latest is drawn on load. Writing is best effort: a closed stream must not fail the reporter.
 */
function liveFrame(stream: ReporterStream): {
  draw(text: string): void;
  /** Writes a line above the frame (held, in order, until log-update is loaded; plain once the frame ended). */
  persist(line: string): void;
  /** Draws `text` (if given) as the final frame and leaves it on screen; resolves once drawn, never rejects. */
  end(text: string | undefined): Promise<void>;
} {
  let frame: Frame | undefined;
  let held: string | undefined;
  const persisted: string[] = [];
  let shown: string | undefined;
  let ended = false;
  const attempt = (write: () => void) => {
    try {
      write();
    } catch {
      // Skipped: the next frame tries again.
    }
  };
  const ready = loadLogUpdate().then(
    ({ createLogUpdate }) => {
      const live = createLogUpdate(stream as NodeJS.WritableStream, { showCursor: true });
      frame = live;
      const latest = held;
      held = undefined;
      for (const line of persisted.splice(0)) attempt(() => live.persist(line));
      if (latest !== undefined && !ended) attempt(() => live(latest));
    },
    () => {
      // Without log-update there is no live frame, but the closing one and the lines are still written, as text.
      const write = (text: string) => void stream.write(`${text}\n`);
      frame = Object.assign((text: string) => void (ended && write(text)), {
        done: () => {},
        persist: write,
      });
      for (const line of persisted.splice(0)) attempt(() => write(line));
    },
  );
  return {
    // Called from the reporter's `next`, which already keeps a failed write from reaching the stream.
    draw: (text) => {
      shown = text;
      if (frame) frame(text);
      else held = text;
    },
    persist: (line) => {
      const live = frame;
      if (!live) {
        persisted.push(line);
        return;
      }
      // log-update erases the frame to write the line: drawn again at once, not at the next emission.
      attempt(() => live.persist(line));
      if (!ended && shown !== undefined) attempt(() => live(shown as string));
    },
    end: (text) => {
      ended = true;
      return ready.then(() =>
        attempt(() => {
          if (text !== undefined) frame?.(text);
          frame?.done();
        }),
      );
    },
  };
}

/**
 * The live frame: the overall bar with percent, ETA and its range, one bar per running step, and the counts.
 *
 * @example
 * ```ts
 * console.log(renderFrame(progress, 24).join('\n'));
 * ```
 */
export function renderFrame(p: Progress, barWidth: number): string[] {
  const [low, high] = [formatMs(p.eta.low), formatMs(p.eta.high)];
  const range = low === high ? '' : ` (${low} to ${high})`;
  const eta =
    p.status === 'running' || p.status === 'waiting'
      ? `${p.status === 'waiting' ? 'waiting, then ' : ''}ETA ${formatMs(p.eta.remainingMs)}${range}`
      : p.status;
  const lines = [
    `${p.workflowId}  ${bar(overall(p, barWidth), barWidth)} ${shownPercent(p)}%  ${formatMs(p.elapsedMs)}  ${eta}`,
  ];
  const running = p.steps.filter((s) => s.status === 'running');
  const waits = new Map((p.eta.waitingOn ?? []).map((w) => [w.path, w]));
  // A hand-written state waiting for an event is no step: it gets a line of its own.
  const unlisted = [...waits.values()].filter((w) => !running.some((s) => s.path === w.path));
  const width = Math.max(0, ...running.map((s) => s.path.length), ...unlisted.map((w) => w.path.length));
  for (const step of running) {
    const spent = p.at - (step.startedAt ?? p.at);
    const expected = step.expectedMs ?? 0;
    const fraction = expected > 0 ? Math.min(0.99, spent / expected) : 0;
    const note = stepNote(step, waits.get(step.path), p.at);
    const time = `${formatMs(spent)}${expected > 0 ? ` of ~${formatMs(expected)}` : ''}`;
    lines.push(
      `  ▸ ${step.path.padEnd(width)}  ${bar(fraction, barWidth)}  ${time}${note ? `  ${note}` : ''}`,
    );
  }
  for (const wait of unlisted) lines.push(`  ▸ ${wait.path.padEnd(width)}  ${waitText(wait, p.at)}`);
  const c = p.counts;
  const counts = [`${c.done} done`, `${c.running} running`, `${c.pending} pending`];
  if (c.failed > 0) counts.push(`${c.failed} failed`);
  if (c.skipped > 0) counts.push(`${c.skipped} skipped`);
  lines.push(`  ${counts.join(' · ')}`);
  return lines;
}

/** The overall bar's fill: full only once the run is done (99.9% would round to a full bar while it waits). */
function overall(p: Progress, width: number): number {
  return p.status === 'done' ? 1 : Math.min(p.percent / 100, (width - 1) / width);
}

function stepNote(step: StepProgress, wait: ProgressWaitingOn | undefined, at: number): string {
  const attempt = step.attempt > 1 ? `attempt ${step.attempt}` : '';
  if (wait?.kind === 'retry') return `attempt ${step.attempt} failed, ${waitText(wait, at)}`;
  if (wait) return waitText(wait, at);
  switch (step.phase) {
    case 'backoff':
      return `attempt ${step.attempt} failed, retrying`;
    case 'escalated':
      return 'waiting for a decision';
    case 'supervising':
      return 'asking the supervisor';
    default:
      return step.kind === 'wait' ? 'waiting for an event' : attempt;
  }
}
