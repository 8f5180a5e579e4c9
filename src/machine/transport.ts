/**
 * The seam between a step actor and where its agent runs. Without a transport every agent is called in this
 * process; with one, the attempts of a step that names a queue (or of every step, with a default queue) are handed
 * to it, and the transport brings the agent's output (or error) back. Retries, backoff, timeouts, fallback and
 * escalation stay in the step actor whatever the transport: one policy wherever the agent runs.
 */

/** One attempt of a step, as it is handed to a transport: JSON-safe, so it can cross a process boundary. */
export interface AgentJob {
  /** Where the attempt runs: a queue name that workers consume. */
  readonly queue: string;
  /** The agent's name in the workers' registry. */
  readonly agent: string;
  /** What the agent receives. */
  readonly input: unknown;
  /** The run id (`ctx.workflowId` in the agent). */
  readonly runId: string;
  /** The step's path (`ctx.step`). */
  readonly stepPath: string;
  /** The attempt number (`ctx.attempt`). */
  readonly attempt: number;
  /**
   * `runId:stepPath:attempt`, the same for a re-dispatch of the same attempt (after a takeover or a lost job): a
   * transport uses it as the job's identity, so an attempt never runs twice at once.
   */
  readonly idempotencyKey: string;
  /** The step's per-attempt timeout: the worker aborts the agent then even if the engine's cancel is lost. */
  readonly timeoutMs?: number;
}

/**
 * Runs agent attempts somewhere else (another process, another machine) and resolves with the agent's output, or
 * rejects with its error (its `retryable`, `code` and `name` kept, so the step's retry policy applies as for an
 * in-process agent). When `signal` fires (the attempt timed out, or its run was cancelled or stopped) the
 * transport aborts the agent's own signal where it runs, and may settle at once.
 */
export interface AgentTransport {
  /** Runs one attempt where `job.queue` is consumed; settles with the agent's output or error. */
  call(job: AgentJob, signal: AbortSignal): Promise<unknown>;
}

/** Where a step's attempts go: a transport and the queue resolved for the step. */
export interface AgentRoute {
  readonly transport: AgentTransport;
  readonly queue: string;
}

/**
 * The route of a step's attempts: its own `queue`, else the engine's default queue, on the engine's transport.
 * `undefined` (run in this process) without a transport or without either queue.
 */
export function routeOf(
  runtime: { readonly transport?: AgentTransport; readonly defaultQueue?: string },
  step: { readonly queue?: string },
): AgentRoute | undefined {
  const queue = step.queue ?? runtime.defaultQueue;
  return runtime.transport && queue !== undefined ? { transport: runtime.transport, queue } : undefined;
}
