import type { TokenUsage } from '../model/agent.js';
import type { SerializedError } from '../model/errors.js';
import type { ResolvedRetryPolicy } from './retry.js';

/** The JSON-safe input of a step actor: everything it needs to run (and to be restored) without closures. */
export interface StepActorInput {
  /** The run id (idempotency keys start with it). */
  readonly workflowId: string;
  /** The step's path in the run: `name`, `child/name`, `map[3]`, `name/compensate`. */
  readonly path: string;
  readonly agent: string;
  readonly fallback?: string;
  /** What the agent receives. */
  readonly input: unknown;
  /**
   * Which round of its enclosing loops this run of the step is (`2`, `1.3` for nested loops), set only past the
   * first round. It is part of every attempt's idempotency key: a step run again in a later round never takes an
   * earlier round's journaled output (or its queued job) after a restore.
   */
  readonly round?: string;
  readonly retry: ResolvedRetryPolicy;
  readonly timeoutMs?: number;
  /**
   * The queue the step's attempts (primary and fallback agent) are dispatched to when the engine has a transport;
   * without one they run in this process. Supervisors always run in the engine's process.
   */
  readonly queue?: string;
  readonly escalate?: {
    readonly to: string;
    readonly timeoutMs: number;
    readonly onTimeout: 'fail' | 'skip';
  };
}

/** Where a step actor is in its life: a small state machine kept in a plain, persistable snapshot. */
export type StepPhase = 'running' | 'backoff' | 'escalated' | 'supervising' | 'done' | 'failed';

/** One attempt's record, kept in the snapshot for progress and debugging. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly agent: string;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly error?: SerializedError;
  /** Tokens the agent reported for this attempt (`ctx.report`), if any. */
  readonly usage?: TokenUsage;
  /** The least wait its error asked before a retry (an HTTP 429's `retry-after`), if any. */
  readonly retryAfterMs?: number;
}

/** The step actor's own state beside XState's `status`, `output` and `error`. */
export interface StepState {
  readonly input: StepActorInput;
  readonly phase: StepPhase;
  /** The agent now in use (the primary, or the fallback). */
  readonly agent: string;
  /** Attempts made with the current agent in the current round. */
  readonly attempt: number;
  /** Attempts made in all. */
  readonly attempts: number;
  /** Bumped at every phase change: a timer or agent result carrying an older token is stale and ignored. */
  readonly token: number;
  /** When the current backoff or escalation ends (epoch ms), so a restored actor waits only what is left. */
  readonly deadline: number | undefined;
  readonly startedAt: number;
  readonly history: readonly AttemptRecord[];
  /** Set on a snapshot restored from storage: its in-flight attempt may already be in the journal. */
  readonly restored?: boolean;
  /** Rounds asked of a supervisor agent so far (at most {@link SUPERVISOR_ROUNDS}). */
  readonly rounds?: number;
  /**
   * When an escalation to a supervisor agent ends (epoch ms): set at its first round from `escalate.timeoutMs` and
   * kept across rounds, so a supervisor's `retry` does not move it.
   */
  readonly escalationDeadline?: number;
}

/**
 * How many times a step asks its supervisor agent at most: a supervisor that answered `retry` this many times and
 * sees the step fail again is not asked again, and the step fails.
 */
export const SUPERVISOR_ROUNDS = 10;

/** The snapshot of a step actor. */
export type StepSnapshot = StepState &
  (
    | { readonly status: 'active'; readonly output: undefined; readonly error: undefined }
    | { readonly status: 'done'; readonly output: unknown; readonly error: undefined }
    | { readonly status: 'error'; readonly output: undefined; readonly error: SerializedError }
    | { readonly status: 'stopped'; readonly output: undefined; readonly error: undefined }
  );

/** Events a step actor handles. Only `flowstate.decision` comes from outside. */
export type StepEvent =
  | {
      readonly type: 'flowstate.step.settled';
      readonly token: number;
      readonly ok: true;
      readonly output: unknown;
      readonly usage?: TokenUsage;
    }
  | {
      readonly type: 'flowstate.step.settled';
      readonly token: number;
      readonly ok: false;
      readonly error: SerializedError;
      readonly retryable: boolean;
      readonly usage?: TokenUsage;
      /** The agent's error asked for at least this long before a retry (an HTTP 429's `retry-after`). */
      readonly retryAfterMs?: number;
    }
  | { readonly type: 'flowstate.step.timeout'; readonly token: number }
  | { readonly type: 'flowstate.step.timer'; readonly token: number }
  | { readonly type: 'flowstate.decision'; readonly decision: import('../model/agent.js').EscalationDecision }
  | { readonly type: 'xstate.stop' };
