import type { RetryPolicy } from '../model/definition.js';

/** A retry policy with every default filled in (what a step actor's input carries). */
export interface ResolvedRetryPolicy {
  readonly attempts: number;
  readonly backoff: 'exponential' | 'fixed';
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  readonly retryOn?: readonly string[];
}

/** Fills in the defaults of a retry policy: 1 attempt, exponential from 100 ms to 30 s, 20% jitter. */
export function resolveRetryPolicy(policy: RetryPolicy | undefined): ResolvedRetryPolicy {
  return {
    attempts: policy?.attempts ?? 1,
    backoff: policy?.backoff ?? 'exponential',
    initialMs: policy?.initialMs ?? 100,
    maxMs: policy?.maxMs ?? 30_000,
    jitter: policy?.jitter ?? 0.2,
    ...(policy?.retryOn ? { retryOn: policy.retryOn } : {}),
  };
}

/**
 * The delay before the attempt after `attempt` (1-based): `initialMs * 2^(attempt-1)` for exponential, capped at
 * `maxMs`, then shortened by up to `jitter` of itself (so it stays within `[d * (1 - jitter), d]`).
 */
export function backoffDelay(policy: ResolvedRetryPolicy, attempt: number, random: () => number): number {
  const base =
    policy.backoff === 'fixed' ? policy.initialMs : policy.initialMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(base, policy.maxMs);
  return Math.round(capped * (1 - policy.jitter * random()));
}

/** Whether an agent's error may be retried under a policy. */
export function isRetryable(error: unknown, policy: ResolvedRetryPolicy): boolean {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    retryable?: unknown;
    code?: unknown;
    name?: unknown;
  };
  if (e.retryable === false) return false;
  if (!policy.retryOn) return true;
  return policy.retryOn.some((c) => c === e.code || c === e.name);
}

/**
 * The least delay an agent's error asks before a retry: its `retryAfterMs` (an LLM agent sets it from an HTTP 429's
 * `retry-after`). The engine owns retries, so a server's wish only lengthens the policy's backoff (up to `maxMs`).
 */
export function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
