/**
 * The terminal reporter's text away from the live frame: its plain lines (the percent every few points, and a step
 * log read from progress values when no step events are at hand), the closing line, and the percent as printed.
 */
import type { Progress, ProgressWaitingOn, StepProgress } from '../progress.js';
import { formatMs } from './format.js';

/** The last line: how the run ended. */
export function closingLine(p: Progress): string {
  const { done, failed, skipped } = p.counts;
  const tally = `${done} step${done === 1 ? '' : 's'} done${failed ? `, ${failed} failed` : ''}${skipped ? `, ${skipped} skipped` : ''}`;
  switch (p.status) {
    case 'done':
      return `✓ ${p.workflowId} done in ${formatMs(p.elapsedMs)}: ${tally}`;
    case 'running':
    case 'waiting':
      return `… ${p.workflowId} still ${p.status} after ${formatMs(p.elapsedMs)}: ${tally}`;
    default:
      return `✗ ${p.workflowId} ${p.status} after ${formatMs(p.elapsedMs)}: ${tally}`;
  }
}

/** Plain lines: what changed since the previous progress, and the overall percent every `percentStep` points. */
export function plainLines(percentStep: number, steps: boolean): (p: Progress) => string[] {
  const seen = new Map<string, string>();
  let printed = Number.NEGATIVE_INFINITY;
  /** The waits printed, by path: each gets a line as it begins (the percent holds then, so no percent line comes). */
  let waits = new Set<string>();
  return (p) => {
    const lines: string[] = [];
    const now = new Set<string>();
    for (const wait of p.eta.waitingOn ?? []) {
      // A retry has its line in the step log already (`↻ ... retrying in 10 s`).
      if (wait.kind === 'retry') continue;
      now.add(wait.path);
      if (!waits.has(wait.path)) lines.push(`  ⏸ ${wait.path} ${waitText(wait, p.at)}`);
    }
    waits = now;
    for (const step of steps ? p.steps : []) {
      if (step.status === 'pending') continue;
      const key = `${step.status}:${step.phase ?? ''}:${step.attempt}`;
      const before = seen.get(step.path);
      if (before === key) continue;
      seen.set(step.path, key);
      // Started and ended between two progress values (a throttle window): its start line first, as for any step.
      if (before === undefined && step.status !== 'running' && step.startedAt !== undefined)
        lines.push(`  ▶ ${step.path}`);
      const line = stepLine(step, p.at);
      if (line) lines.push(line);
    }
    if (p.status !== 'done' && p.percent - printed >= percentStep) {
      printed = p.percent;
      const { done, running, pending } = p.counts;
      lines.push(
        `[${shownPercent(p)}%] ${done} done, ${running} running, ${pending} pending; ${p.status === 'waiting' ? 'waiting, then ' : ''}ETA ${formatMs(p.eta.remainingMs)}`,
      );
    }
    return lines;
  };
}

function stepLine(step: StepProgress, at: number): string | undefined {
  const took = formatMs((step.endedAt ?? at) - (step.startedAt ?? at));
  switch (step.status) {
    case 'running':
      if (step.phase === 'backoff') return `  ↻ ${step.path} attempt ${step.attempt} failed, retrying`;
      if (step.phase === 'escalated') return `  ⚑ ${step.path} waiting for a decision`;
      if (step.phase === 'supervising') return `  ⚑ ${step.path} asking the supervisor`;
      return `  ▶ ${step.path}${step.attempt > 1 ? ` attempt ${step.attempt}` : ''}`;
    case 'done':
      return `  ✓ ${step.path} ${took}${step.attempt > 1 ? ` (${step.attempt} attempts)` : ''}`;
    case 'failed':
      return `  ✗ ${step.path}: ${step.error ?? 'failed'}`;
    case 'skipped':
      return `  ↷ ${step.path} skipped`;
    case 'cancelled':
      return `  ■ ${step.path} cancelled`;
    default:
      return undefined;
  }
}

/**
 * What a wait on the outside world waits for, and until when: `waiting for 'approve', times out in 59m 00s`.
 *
 * @example
 * ```ts
 * waitText({ kind: 'human', path: 'check', deadline: 61_000 }, 1_000); // 'waiting for a decision, times out in 1m 00s'
 * ```
 */
export function waitText(wait: ProgressWaitingOn, at: number): string {
  if (wait.kind === 'retry')
    return wait.deadline === undefined ? 'retrying' : `retrying in ${formatMs(wait.deadline - at)}`;
  const what =
    wait.kind === 'human'
      ? 'waiting for a decision'
      : `waiting for ${wait.event !== undefined ? `'${wait.event}'` : 'an event'}`;
  return wait.deadline === undefined ? what : `${what}, times out in ${formatMs(wait.deadline - at)}`;
}

/** The percent as printed: whole, rounded down, so that 100% is only shown for a run that is done (its percent stops at 99.9 before). */
export function shownPercent(p: Progress): string {
  return String(Math.floor(p.percent)).padStart(3);
}
