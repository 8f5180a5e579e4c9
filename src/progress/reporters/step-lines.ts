/**
 * The terminal reporter's step log from `run.events$`: one line per step event worth seeing, each retry with the
 * reason of the attempt it follows. Made from events rather than progress values because progress is throttled:
 * retries inside one throttle window would be lost, and a progress value does not carry an attempt's reason.
 */
import type { StepLogEvent } from '../events.js';
import { formatMs } from './format.js';

/** Longest reason printed, in characters: a line stays one terminal line for usual widths. */
const MAX_REASON = 120;

/**
 * A reason as one short line: whitespace (newlines, a stack pasted into a message) collapsed, cut at
 * {@link MAX_REASON} characters. The text is the step's error message, which the engine already scrubbed of the
 * run's secrets before it reached the step's snapshot (and LLM errors of API keys): nothing else is printed.
 *
 * @example
 * ```ts
 * shortReason('connection reset\n    at Socket.onEnd'); // 'connection reset at Socket.onEnd'
 * ```
 */
export function shortReason(reason: string): string {
  const line = reason.replace(/\s+/g, ' ').trim();
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}

/**
 * A printer of step events: returns each event's line, or `undefined` for an event that the next one tells (an
 * attempt's failure is told with the retry it leads to, or with the step's failure).
 *
 * @example
 * ```ts
 * const line = stepEventLines();
 * run.events$.subscribe((e) => { const text = line(e); if (text) console.log(text); });
 * ```
 */
export function stepEventLines(): (event: StepLogEvent) => string | undefined {
  /** Per step, how its last attempt ended, until the retry or failure that follows prints it. */
  const last = new Map<string, { readonly timedOut: boolean; readonly reason: string | undefined }>();
  return (e) => {
    switch (e.type) {
      case 'started':
        return `  ▶ ${e.path}${e.attempt > 1 ? ` attempt ${e.attempt}` : ''}`;
      case 'attempt-failed':
        last.set(e.path, { timedOut: false, reason: e.reason });
        return undefined;
      case 'timed-out':
        // An attempt's timeout is told with its retry or the step's failure, a wait's with its failure or skip;
        // an escalation's here, as what follows it (the step goes on, or fails) does not say why.
        if (e.of !== 'escalation') {
          last.set(e.path, { timedOut: true, reason: e.reason });
          return undefined;
        }
        return `  ⏱ ${e.path} got no decision in time${why(e.reason)}`;
      case 'retry-scheduled': {
        const failed = last.get(e.path);
        last.delete(e.path);
        const how = failed?.timedOut ? 'timed out' : 'failed';
        const delay = e.delayMs > 0 ? ` in ${formatMs(e.delayMs)}` : '';
        return `  ↻ ${e.path} attempt ${e.attempt} ${how}${why(failed?.reason)}; retrying${delay}`;
      }
      case 'escalated':
        last.delete(e.path);
        return `  ⚑ ${e.path} escalated${why(e.reason)}; ${e.to === 'human' ? 'waiting for a decision' : `asking '${e.to}'`}`;
      case 'resolved':
        return `  ⚑ ${e.path} decided: ${e.action}`;
      case 'done':
        last.delete(e.path);
        return `  ✓ ${e.path} ${formatMs(e.durationMs)}${e.attempt > 1 ? ` (${e.attempt} attempts)` : ''}`;
      case 'failed': {
        // The step's error says how its last attempt ended; a timeout is named as such.
        const timedOut = last.get(e.path)?.timedOut === true || e.code === 'STEP_TIMEOUT';
        last.delete(e.path);
        return `  ✗ ${e.path}${timedOut ? ' timed out' : ''}: ${shortReason(e.reason)}`;
      }
      case 'skipped': {
        const timedOut = last.get(e.path)?.timedOut === true;
        last.delete(e.path);
        return `  ↷ ${e.path} skipped${timedOut ? ' (timed out)' : ''}`;
      }
      case 'compensated':
        return `  ↩ ${e.path} undone by ${e.by}`;
      case 'cancelled':
        last.delete(e.path);
        return `  ■ ${e.path} cancelled`;
    }
  };
}

function why(reason: string | undefined): string {
  return reason === undefined || reason.trim() === '' ? '' : ` (${shortReason(reason)})`;
}
