/**
 * A signal (decision, event, cancel) to a stored run, as `flowstate runs decide|send|cancel` and the API of
 * `flowstate serve` send it: through a short-lived engine that knows the templates (their agents parked, see
 * `signalEngine`). A run no live engine holds is taken, given the signal, committed and handed back at once, so a
 * released template run left waiting on a human does not wait for an engine that may never come; a run held by a
 * live engine gets the signal through the store's inbox, from its owner.
 */
import { findTemplate } from '../../machines/index.js';
import type { EscalationDecision } from '../model/agent.js';
import type { RunRecord, WorkflowStore } from '../persistence/types.js';
import type { SignalBody } from '../runtime/inbox.js';
import type { WorkflowEvent } from '../runtime/run.js';
import { signalEngine } from './commands/runs-common.js';
import { untouchedOtherVersions } from './template-versions.js';

/** What a signal does: decide an escalated step, deliver an event to `waitFor` steps, or cancel the run. */
export type SignalKind = 'decision' | 'event' | 'cancel';

/** How one signal is sent. */
export interface SignalSending {
  /** How long to wait for the run's owner (or this engine's commit) before a `SignalTimeoutError`. */
  readonly timeoutMs: number;
  /** The caller's name for it (`--signal-id`, `Idempotency-Key`): sent again under it, it is applied once. */
  readonly signalId?: string | undefined;
}

/**
 * Whether a live engine holds the run: an owner whose lease has not run out. A run without one (its owner died, or
 * closed and released it) goes on only once some engine takes it.
 *
 * @example
 * ```ts
 * if (!heldByLiveEngine(stored)) io.out('no engine runs it now');
 * ```
 */
export function heldByLiveEngine(run: Pick<RunRecord, 'owner' | 'leaseUntil'>, now = Date.now()): boolean {
  return Boolean(run.owner) && (run.leaseUntil ?? 0) > now;
}

/**
 * Whether {@link signalRun} applies this signal at once to a run no live engine holds: a run of a template is taken
 * and given it; a cancel of any other run is written to the store. Anything else waits in the inbox for the run's
 * next owner (the definition, its agents and guards are only in the programs that run it).
 */
export function appliedWhenUnowned(workflow: string, kind: SignalKind): boolean {
  return kind === 'cancel' || findTemplate(workflow) !== undefined;
}

/**
 * Sends a signal to a stored run and resolves with its result once applied and committed (`event`: whether a
 * `waitFor` step took it; else `null`). Rejects with the owner's typed refusal, `RUN_NOT_FOUND`, or a
 * `SignalTimeoutError` (it stays queued). The store stays the caller's: it is not closed here.
 *
 * @example
 * ```ts
 * await signalRun(store, 'r1', 'decision', { stepPath: 'review', decision: { action: 'retry' } }, { timeoutMs: 30_000 });
 * ```
 */
export async function signalRun(
  store: WorkflowStore,
  runId: string,
  kind: SignalKind,
  body: SignalBody,
  sending: SignalSending,
): Promise<unknown> {
  const options =
    sending.signalId === undefined
      ? { timeoutMs: sending.timeoutMs }
      : { timeoutMs: sending.timeoutMs, signalId: sending.signalId };
  // An engine closes its store: this one is borrowed (the server's lives on, the CLI closes its own).
  const engine = signalEngine(borrowed(store), { migrate: untouchedOtherVersions() });
  try {
    if (kind === 'decision') {
      const { stepPath, decision } = body as { stepPath: string; decision: EscalationDecision };
      await engine.resolveEscalation(runId, stepPath, decision, options);
      return null;
    }
    if (kind === 'event') return await engine.send(runId, (body as { event: WorkflowEvent }).event, options);
    await engine.cancel(runId, (body as { reason?: string }).reason, options);
    return null;
  } finally {
    // A run taken here (no live owner) keeps the signal: commit it, then hand the run back (lease released).
    await engine.flush().catch(() => {});
    await engine.close();
  }
}

/** The store with a `close()` that leaves it open, for an engine that must not end its caller's connections. */
function borrowed(store: WorkflowStore): WorkflowStore {
  return new Proxy(store, {
    get(target, name) {
      if (name === 'close') return async () => {};
      const value = Reflect.get(target, name) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
