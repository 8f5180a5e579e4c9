/**
 * Text pieces the reporters share: durations, bars, and the subscription handle they return.
 */
import type { Observable } from 'rxjs';

/**
 * What a reporter returns: `done` resolves when the progress stream ends; `stop()` ends it early.
 *
 * @example
 * ```ts
 * const reporter = terminalReporter(run.progress$);
 * setTimeout(() => reporter.stop(), 60_000);
 * await reporter.done;
 * ```
 */
export interface Reporter {
  /** Resolves (never rejects) once the stream has ended, or `stop()` was called, and the last output is written. */
  readonly done: Promise<void>;
  /** Unsubscribes from the stream at once and writes the closing output; `done` then resolves. */
  stop(): void;
}

/**
 * Where a reporter writes: `process.stdout`, a file stream, or anything with `write`.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * jsonLinesReporter(run.events$, { write: (chunk) => lines.push(chunk) });
 * ```
 */
export interface ReporterStream {
  /** Writes a chunk of text (whole lines, or a live frame's escape sequences); what it returns is ignored. */
  write(chunk: string): unknown;
  /** Whether it is a terminal: the terminal reporter then draws a live frame, unless its `tty` option says no. */
  readonly isTTY?: boolean;
  /** The terminal's width in characters, which a live frame wraps its lines to. @default 80 */
  readonly columns?: number;
}

/**
 * `850 ms`, `12.4 s`, `3m 05s`, `2h 10m`.
 *
 * @example
 * ```ts
 * formatMs(185_000); // '3m 05s'
 * ```
 */
export function formatMs(ms: number): string {
  const value = Math.max(0, Math.round(ms));
  if (value < 1000) return `${value} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  const seconds = Math.round(value / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * A bar of `width` cells, `fraction` (0 to 1) of them full.
 *
 * @example
 * ```ts
 * bar(0.5, 10); // '█████░░░░░'
 * ```
 */
export function bar(fraction: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/**
 * Subscribes `next` to a stream and wraps the subscription as a {@link Reporter}; `end` runs once at the end.
 *
 * @example
 * ```ts
 * const reporter = report(progress$, (p) => console.log(p.percent), () => console.log('end'));
 * ```
 */
export function report<T>(source: Observable<T>, next: (value: T) => void, end: () => void): Reporter {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let ended = false;
  const close = () => {
    if (ended) return;
    ended = true;
    try {
      end();
    } catch {
      // As for `next`: the closing lines are best effort.
    }
    finish();
  };
  const subscription = source.subscribe({
    next: (value) => {
      // A reporter that cannot write (a closed pipe) must not take the run down with it.
      try {
        next(value);
      } catch {
        // Skipped: the next emission tries again.
      }
    },
    error: close,
    complete: close,
  });
  return {
    done,
    stop: () => {
      subscription.unsubscribe();
      close();
    },
  };
}
