/** The run page's step log, as the web API serves it (`RunDetail.steps`). */

/** One attempt in the step log. Errors are as the engine stored them: already scrubbed of the run's secrets. */
export interface AttemptView {
  readonly attempt: number;
  readonly agent?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly error?: { readonly message: string; readonly code?: string };
}

/** A step of the log. */
export interface StepLogEntry {
  readonly path: string;
  /** `running`, `backoff`, `escalated`, `supervising`, `done`, `failed`. */
  readonly status: string;
  readonly attempts: readonly AttemptView[];
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly durationMs?: number;
}
