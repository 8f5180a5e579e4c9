/**
 * The step log: typed events derived from consecutive snapshots of a step (never sent by hand), as `run.events$`
 * emits them and the engine's logger writes them.
 */
import { backoffDelay } from '../machine/retry.js';
import type { StepSnapshot } from '../machine/step-types.js';
import { addUsage, type TokenUsage } from '../model/agent.js';
import type { SerializedError } from '../model/errors.js';
import type { StepView } from './views.js';

/**
 * Fields every step event has.
 *
 * @example
 * ```ts
 * const { path, at, attempt }: StepLogEventBase = event;
 * ```
 */
export interface StepLogEventBase {
  /** The step path: `name`, `child/name`, `map[3]`, `name/compensate`. */
  readonly path: string;
  /** When it happened (the clock's epoch ms). */
  readonly at: number;
  /** Attempts made so far. */
  readonly attempt: number;
}

/**
 * One step event. `timed-out` stands for an attempt's timeout (instead of `attempt-failed`), an escalation that got
 * no decision in time, or a `waitFor` that got no event. `skipped` follows `failed` when the workflow's `onError`
 * skips the step. `resolved` is a decision on an escalated step. `compensated` is told of the step that was undone,
 * once its compensation is done. `cancelled` is a step stopped before it ended (a cancelled run, a failed sibling).
 *
 * @example
 * ```ts
 * run.events$.subscribe((e) => {
 *   if (e.type === 'retry-scheduled') console.log(`${e.path}: retry in ${e.delayMs} ms`);
 * });
 * ```
 */
export type StepLogEvent = StepLogEventBase &
  (
    | { readonly type: 'started'; readonly agent?: string }
    | {
        readonly type: 'attempt-failed';
        readonly reason: string;
        readonly code?: string;
        /** Tokens the attempt reported (an LLM agent's), if any. */
        readonly usage?: TokenUsage;
      }
    | { readonly type: 'retry-scheduled'; readonly delayMs: number; readonly agent: string }
    | { readonly type: 'timed-out'; readonly of: 'attempt' | 'escalation' | 'wait'; readonly reason?: string }
    | { readonly type: 'escalated'; readonly to: string; readonly reason?: string }
    | { readonly type: 'resolved'; readonly action: 'retry' | 'skip' | 'abort' }
    | {
        readonly type: 'done';
        readonly durationMs: number;
        /** Tokens reported by all the step's attempts (LLM agents: `ctx.report`), if any. */
        readonly usage?: TokenUsage;
      }
    | { readonly type: 'failed'; readonly reason: string; readonly code?: string }
    | { readonly type: 'skipped'; readonly reason?: string }
    | { readonly type: 'compensated'; readonly by: string }
    | { readonly type: 'cancelled' }
  );

/**
 * The type of a step event.
 *
 * @example
 * ```ts
 * const notable: StepLogEventType[] = ['failed', 'escalated'];
 * ```
 */
export type StepLogEventType = StepLogEvent['type'];

/** What an event carries besides its base fields. */
type Body = StepLogEvent extends infer E
  ? E extends StepLogEventBase
    ? Omit<E, keyof StepLogEventBase>
    : never
  : never;

/** Options of {@link stepEvents}. */
export interface StepEventsOptions {
  /**
   * Also tell the start of each attempt that follows a backoff, as `started` with its attempt number (a printer
   * that shows every attempt wants it; the step log leaves it implied by `retry-scheduled`).
   * @default false
   */
  readonly everyAttempt?: boolean;
}

/**
 * The events between two snapshots of one step actor (`prev` is `undefined` the first time it is seen).
 *
 * @example
 * ```ts
 * const events = stepEvents(before, after, Date.now());
 * ```
 */
export function stepEvents(
  prev: StepSnapshot | undefined,
  next: StepSnapshot,
  at: number,
  options: StepEventsOptions = {},
): StepLogEvent[] {
  const out: StepLogEvent[] = [];
  const path = next.input.path;
  const emit = (body: Body, attempt = next.attempts) =>
    out.push({ path, at, attempt, ...body } as StepLogEvent);
  if (!prev) {
    // First seen: what happened before tracking began is not replayed with a wrong time.
    emit({ type: 'started', agent: next.agent });
  } else {
    // Attempts that ended with an error since the last snapshot.
    next.history.forEach((record, i) => {
      if (record.error === undefined || prev.history[i]?.endedAt !== undefined) return;
      if (record.error.code === 'STEP_TIMEOUT')
        emit({ type: 'timed-out', of: 'attempt', reason: record.error.message }, record.attempt);
      else
        emit(
          {
            type: 'attempt-failed',
            reason: record.error.message,
            ...codeOf(record.error.code),
            ...(record.usage ? { usage: record.usage } : {}),
          },
          record.attempt,
        );
    });
  }
  const was = prev?.phase;
  const deciding = was === 'escalated' || was === 'supervising';
  if (prev && next.status === 'active') {
    if (next.phase === 'backoff' && was !== 'backoff') {
      // From the failed attempt's end, when the backoff was computed: the policy's delay, not the observer's lag.
      // The step logic reads the clock again to set the deadline, a millisecond later at times: the policy's delay
      // without jitter (its longest) bounds the gap, and is exact when there is no jitter.
      const from = next.history[next.history.length - 1]?.endedAt ?? at;
      // A retry-after the agent's error asked for (an HTTP 429) may lengthen it, up to the policy's `maxMs`.
      const asked = Math.min(next.history.at(-1)?.retryAfterMs ?? 0, next.input.retry.maxMs);
      const longest = Math.max(
        backoffDelay(next.input.retry, next.attempt, () => 0),
        asked,
      );
      emit({
        type: 'retry-scheduled',
        delayMs: Math.max(0, Math.min((next.deadline ?? from) - from, longest)),
        agent: next.agent,
      });
    } else if ((next.phase === 'escalated' || next.phase === 'supervising') && !deciding) {
      const reason = next.history.at(-1)?.error?.message;
      emit({ type: 'escalated', to: next.input.escalate?.to ?? 'human', ...(reason ? { reason } : {}) });
    } else if (next.phase === 'running' && deciding) {
      emit({ type: 'resolved', action: 'retry' });
    } else if (next.phase === 'running' && was === 'running' && next.attempts > prev.attempts) {
      // A fallback agent takes over straight after a failed attempt, without a backoff.
      emit({ type: 'retry-scheduled', delayMs: 0, agent: next.agent });
    } else if (options.everyAttempt && next.phase === 'running' && was === 'backoff') {
      emit({ type: 'started', agent: next.agent });
    }
  }
  if (prev?.status === next.status) return out;
  switch (next.status) {
    case 'done':
      if (deciding && prev?.deadline !== undefined && at >= prev.deadline)
        emit({ type: 'timed-out', of: 'escalation' });
      else if (deciding) emit({ type: 'resolved', action: 'skip' });
      {
        const usage = stepUsage(next);
        emit({ type: 'done', durationMs: Math.max(0, at - next.startedAt), ...(usage ? { usage } : {}) });
      }
      break;
    case 'error': {
      const { error } = next;
      if (error.code === 'ESCALATION_TIMEOUT')
        emit({ type: 'timed-out', of: 'escalation', reason: error.message });
      // A supervisor that itself failed decided nothing; every other failure out of an escalation is an abort.
      else if (was === 'escalated' || (was === 'supervising' && !error.message.startsWith('Supervisor ')))
        emit({ type: 'resolved', action: 'abort' });
      emit({ type: 'failed', reason: failureReason(error), ...codeOf(error.code) });
      break;
    }
    case 'stopped':
      emit({ type: 'cancelled' });
      break;
  }
  return out;
}

/**
 * Why a step failed: its error's message, with its cause's (an agent's own error) when it has one.
 *
 * @example
 * ```ts
 * failureReason({ name: 'StepFailedError', message: "Step 'a' failed", cause: { name: 'Error', message: 'boom' } }); // "Step 'a' failed: boom"
 * ```
 */
export function failureReason(error: SerializedError): string {
  const cause = (error.cause as { message?: unknown } | undefined)?.message;
  return typeof cause === 'string' ? `${error.message}: ${cause}` : error.message;
}

/**
 * The log of a run so far as its step views tell it, for a subscriber that comes late: each step's start and, if it
 * ended, its end, in time order. What happened between (retries, escalations) is only told live.
 *
 * @example
 * ```ts
 * for (const event of replayEvents(watch.steps.values())) console.log(event.type, event.path);
 * ```
 */
export function replayEvents(views: Iterable<StepView>): StepLogEvent[] {
  const out: StepLogEvent[] = [];
  for (const v of views) {
    out.push({
      path: v.path,
      at: v.startedAt,
      attempt: 1,
      type: 'started',
      ...(v.agent ? { agent: v.agent } : {}),
    });
    const end = { path: v.path, at: v.endedAt ?? v.startedAt, attempt: v.attempt };
    const reason = v.error !== undefined ? { reason: v.error } : {};
    if (v.status === 'done') out.push({ ...end, type: 'done', durationMs: end.at - v.startedAt });
    else if (v.status === 'failed') out.push({ ...end, type: 'failed', reason: v.error ?? 'failed' });
    else if (v.status === 'skipped') out.push({ ...end, type: 'skipped', ...reason });
    else if (v.status === 'cancelled') out.push({ ...end, type: 'cancelled' });
  }
  // Stable: a step's start stays before its end when both happened at the same time.
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The tokens a step's attempts reported (LLM agents, through `ctx.report`), added up; `undefined` if none did.
 *
 * @example
 * ```ts
 * const usage = stepUsage(snapshot); // { inputTokens: 812, outputTokens: 64, totalTokens: 876 }
 * ```
 */
export function stepUsage(s: Pick<StepSnapshot, 'history'>): TokenUsage | undefined {
  let sum: TokenUsage | undefined;
  for (const record of s.history) sum = addUsage(sum, record.usage);
  return sum;
}

function codeOf(code: string | undefined): { code?: string } {
  return code === undefined ? {} : { code };
}

/** Events worth `info` in the log; the others are `debug`. */
const NOTABLE = new Set<StepLogEventType>(['escalated', 'resolved', 'timed-out', 'failed', 'compensated']);

/**
 * The level a step event is logged at.
 *
 * @example
 * ```ts
 * logger[levelOf(event.type)]({ step: event.path }, `step ${event.type}`);
 * ```
 */
export function levelOf(type: StepLogEventType): 'info' | 'debug' {
  return NOTABLE.has(type) ? 'info' : 'debug';
}
