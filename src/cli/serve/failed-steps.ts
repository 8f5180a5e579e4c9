/**
 * The steps a run's error names, for the step log of an ended run. A step that failed is in no other record the
 * store keeps: XState drops a finished step actor from the snapshot, and the journal holds successful attempts only.
 * So a run page read after the run failed showed none of its failing steps, and nothing at all for a run that failed
 * at its first step. The run's error says which step failed, after how many attempts and why; each compensation that
 * failed says the same of its own.
 */
import type { SerializedError } from '../../model/errors.js';
import type { AttemptView, StepLogEntry } from './step-log.js';

/**
 * The failed steps a run's error names (the step that failed the run, then the compensations that failed), ended at
 * `endedAt` (the run's last update): each with its last attempt and that attempt's error (the agent's own, else the
 * step's). Empty for an error naming no step (a cancelled run).
 *
 * @example
 * ```ts
 * failedSteps(stored.error, stored.updatedAt); // [{ path: 'review', status: 'failed', attempts: [{ attempt: 3, error }] }]
 * ```
 */
export function failedSteps(error: SerializedError | undefined, endedAt: number): StepLogEntry[] {
  if (!error) return [];
  const out: StepLogEntry[] = [];
  for (const failure of [error, ...(error.compensationErrors ?? [])]) {
    if (!failure.stepPath || out.some((s) => s.path === failure.stepPath)) continue;
    const why = failure.cause ?? failure;
    const attempt: AttemptView = {
      attempt: Math.max(1, failure.attempts ?? 1),
      endedAt,
      error: { message: why.message, ...(why.code ? { code: why.code } : {}) },
    };
    out.push({ path: failure.stepPath, status: 'failed', attempts: [attempt], endedAt });
  }
  return out;
}

/**
 * Marks the log's entries for the steps `failed` names as failed (a last attempt that ended between two polls was
 * seen without its error, and so read as done), and adds those the log lacks.
 */
export function withFailedSteps(log: Map<string, StepLogEntry>, failed: readonly StepLogEntry[]): void {
  for (const step of failed) {
    const known = log.get(step.path);
    if (!known) {
      log.set(step.path, step);
      continue;
    }
    if (known.status === 'failed' && known.attempts.at(-1)?.error) continue;
    const last = known.attempts.at(-1);
    const [derived] = step.attempts;
    const attempts =
      last && derived && last.attempt >= derived.attempt
        ? [...known.attempts.slice(0, -1), withError(last, derived)]
        : [...known.attempts, ...step.attempts];
    const endedAt = known.endedAt ?? step.endedAt;
    const durationMs =
      known.startedAt !== undefined && endedAt !== undefined ? endedAt - known.startedAt : known.durationMs;
    log.set(step.path, {
      ...known,
      status: 'failed',
      attempts,
      ...(endedAt !== undefined ? { endedAt } : {}),
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
  }
}

/** The attempt with its error, else the derived attempt's. */
function withError(attempt: AttemptView, derived: AttemptView): AttemptView {
  const error = attempt.error ?? derived.error;
  return error ? { ...attempt, error } : attempt;
}
