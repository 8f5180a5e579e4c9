/** What a failed compensation left in place: the compensation step and why it failed. */
export interface NotUndone {
  /** The compensation step's path (`apply/compensate`), when the failure names one. */
  readonly stepPath?: string;
  /** The step's failure and, after a colon, its agent's own error (the step's says how many attempts, its cause why). */
  readonly reason: string;
}

/**
 * The compensations that failed in a run's error (its `compensationErrors`), worded once for everything that shows
 * them (the CLI, the web view). Takes a live error or a stored (serialized) one; anything else has none.
 *
 * @example
 * ```ts
 * notUndoneOf(run.error); // [{ stepPath: 'apply/compensate', reason: "Step 'apply/compensate' failed ...: disk full" }]
 * ```
 */
export function notUndoneOf(error: unknown): NotUndone[] {
  const failures = (error as { compensationErrors?: unknown } | null | undefined)?.compensationErrors;
  if (!Array.isArray(failures)) return [];
  const text = (value: unknown) => String((value as { message?: unknown } | null)?.message ?? value);
  return failures.map((f: { stepPath?: unknown; cause?: unknown } | null) => ({
    ...(typeof f?.stepPath === 'string' ? { stepPath: f.stepPath } : {}),
    reason: f?.cause ? `${text(f)}: ${text(f.cause)}` : text(f),
  }));
}
