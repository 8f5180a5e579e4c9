import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EscalationDecision } from '../model/agent.js';
import {
  ConfigurationError,
  FlowstateError,
  fromSerialized,
  InputValidationError,
  type SerializedError,
  SignalTimeoutError,
  serializeError,
} from '../model/errors.js';
import { unstorableIssue } from '../persistence/storable.js';
import type { InboxKind, InboxMessage, WorkflowStore } from '../persistence/types.js';
import { UNFINISHED } from '../persistence/types.js';
import type { Durability } from './durability.js';
import type { WorkflowEvent, WorkflowRun } from './run.js';

/** A signal as stored in the inbox: what it asks of the run. */
export type SignalBody =
  | { readonly event: WorkflowEvent }
  | { readonly stepPath: string; readonly decision: EscalationDecision }
  | { readonly reason?: string };

/**
 * A signal's body as the inbox stores it (JSON text). A payload JSON cannot hold (an event or a decision's value
 * holding a BigInt, a circular structure, nesting too deep) is refused with an `InputValidationError` before it is
 * posted or applied: applied to a run, it would stop the run, whose state could not be stored any more.
 */
export function signalText(runId: string, body: SignalBody): string {
  try {
    return JSON.stringify(body);
  } catch (cause) {
    throw new InputValidationError('event', [unstorableIssue(body, cause)], { workflowId: runId, cause });
  }
}

/** Applies a signal to a run of this process; what it returns is the signal's result. */
export function applySignal(run: WorkflowRun, kind: InboxKind, body: SignalBody): unknown {
  switch (kind) {
    case 'event':
      return run.send((body as { event: WorkflowEvent }).event);
    case 'decision': {
      const { stepPath, decision } = body as { stepPath: string; decision: EscalationDecision };
      run.resolveEscalation(stepPath, decision);
      return null;
    }
    case 'cancel': {
      const { reason } = body as { reason?: string };
      run.cancel(reason);
      return null;
    }
  }
}

/**
 * The owner's side of the inbox: finds pending signals of the runs this engine owns (on a poll, or at once when the
 * store notifies) and applies them; each answer is committed in the same transaction as the checkpoint the signal
 * caused, so a signal is applied exactly once even across a crash.
 */
export class InboxReader {
  private readonly applying = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly durability: Durability,
    private readonly owner: string,
    private readonly active: ReadonlyMap<string, WorkflowRun>,
    private readonly logger: Logger,
    private readonly pollMs: number | undefined,
    /** A signal was posted for a run that is not in memory here (it may be passivated). */
    private readonly elsewhere: (runId: string) => void = () => {},
  ) {}

  async start(): Promise<void> {
    const { store } = this.durability;
    let notifies = false;
    if (store.listen) {
      try {
        this.unlisten = await store.listen((runId) => {
          if (this.active.has(runId)) void this.drain();
          else this.elsewhere(runId);
        });
        notifies = true;
      } catch (error) {
        this.logger.warn({ err: error }, 'inbox notifications unavailable; polling only');
      }
    }
    if (this.stopped) return void (await this.unlisten?.());
    const every = this.pollMs ?? (notifies ? 1_000 : 250);
    this.timer = setInterval(() => void this.drain(), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.();
    await this.draining;
  }

  /** Reads and applies pending signals; a call while one runs makes it go round once more. */
  drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      do {
        this.again = false;
        if (this.active.size === 0 || this.stopped) break;
        let messages: InboxMessage[];
        try {
          messages = await this.durability.store.pendingFor(this.owner, 100);
        } catch (error) {
          this.logger.debug({ err: error }, 'inbox read failed; next poll retries');
          break;
        }
        for (const message of messages) this.apply(message);
      } while (this.again);
    })().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /**
   * Applies a signal this engine posts for a run it holds (a signal with a caller's `signalId`): marked as being
   * applied before it is posted, so a drain never applies it too. Returns its answer (a result, or the refusal, not
   * thrown: the caller answers once it is committed) once queued with the run's checkpoint; `undefined` if it is not
   * this call's to apply: the same signal is being applied here already, it was posted before (by another caller,
   * or by this one whose answer was lost: the owner applies it, or did), or the run left this engine.
   */
  async postAndApply(message: InboxMessage): Promise<SignalAnswer | undefined> {
    if (this.applying.has(message.id)) return undefined;
    this.applying.add(message.id);
    let posted: boolean;
    try {
      posted = (await this.durability.store.post(message)) === true;
    } catch (error) {
      this.applying.delete(message.id);
      throw error;
    }
    const run = this.active.get(message.runId);
    if (!posted || !run) {
      // Stored before (or the store cannot say): the drain applies it if it is still pending, once.
      this.applying.delete(message.id);
      if (run) void this.drain();
      return undefined;
    }
    return this.applyTo(run, message);
  }

  private apply(message: InboxMessage) {
    const run = this.active.get(message.runId);
    if (!run || this.applying.has(message.id)) return;
    this.applying.add(message.id);
    this.applyTo(run, message);
  }

  private applyTo(run: WorkflowRun, message: InboxMessage): SignalAnswer {
    let answer: SignalAnswer;
    try {
      answer = {
        state: 'applied',
        result: applySignal(run, message.kind, JSON.parse(message.body) as SignalBody),
      };
    } catch (error) {
      answer = { state: 'refused', error };
    }
    const { state } = answer;
    this.logger.debug({ workflowId: message.runId, kind: message.kind, state }, 'signal applied');
    const result = state === 'applied' ? answer.result : serializeError(answer.error);
    void this.durability.answer(message.runId, message.id, state, result).finally(() => {
      // Kept a little longer than the commit: a poll that read the row before it must not apply it again.
      setTimeout(() => this.applying.delete(message.id), 5_000).unref();
    });
    return answer;
  }
}

/** How the owner answered a signal: applied with a result, or refused with an error. */
export type SignalAnswer =
  | { readonly state: 'applied'; readonly result: unknown }
  | { readonly state: 'refused'; readonly error: unknown };

/**
 * The inbox id of a signal its caller named (`signalId`): one per run and name, so a signal sent again after an
 * ambiguous failure (its answer lost) finds the first one, applied or still queued, instead of applying twice.
 */
export function keyedSignalId(runId: string, signalId: string): string {
  return `k:${createHash('sha256').update(runId).update('\0').update(signalId).digest('base64url')}`;
}

/**
 * A signal sent before under the same `signalId`, if any: its answer (the signal is not applied again) or, still
 * queued, the wait for it. A `signalId` reused for another signal is refused.
 */
export async function earlierSignal(
  store: WorkflowStore,
  message: InboxMessage,
  timeoutMs: number,
): Promise<{ readonly answer: Promise<unknown> } | undefined> {
  const earlier = await store.getMessage(message.id);
  if (!earlier) return undefined;
  if (earlier.kind !== message.kind || canonicalJson(earlier.body) !== canonicalJson(message.body)) {
    throw new ConfigurationError(
      `signalId already names another signal to run '${message.runId}' (${earlier.kind === 'event' ? 'an' : 'a'} ${earlier.kind}): give each signal its own`,
      { workflowId: message.runId },
    );
  }
  return { answer: awaitAnswer(store, earlier, timeoutMs, true) };
}

/**
 * The caller's side: stores a signal for a run owned by another engine and waits until its owner applied or refused
 * it. Polls with backoff; a run that ended meanwhile refuses what it never read. A signal its caller named
 * (`keyed`, see {@link keyedSignalId}) is posted once whatever the retries, and its answer is kept for them.
 */
export async function postSignal(
  store: WorkflowStore,
  runId: string,
  kind: InboxKind,
  body: SignalBody,
  timeoutMs: number,
  keyed?: string,
  whenUnowned?: () => Promise<void>,
  /** The body's text, made by the caller already ({@link signalText}). */
  text: string = signalText(runId, body),
): Promise<unknown> {
  const message: InboxMessage = {
    id: keyed ?? randomUUID(),
    runId,
    kind,
    body: text,
    state: 'pending',
    createdAt: Date.now(),
  };
  await store.post(message);
  return awaitAnswer(store, message, timeoutMs, keyed !== undefined, whenUnowned);
}

/**
 * Waits until the owner answered a posted signal. An answer is read once and then forgotten, unless the signal is
 * `kept` (named by its caller: one sent again must find its answer). `whenUnowned` is called when the run, still
 * unfinished, has no live owner any more (the one it had, a caller like this one that took it for its own signal,
 * handed it back without reading this one): the caller takes the run and applies what waits for it.
 */
export async function awaitAnswer(
  store: WorkflowStore,
  posted: InboxMessage,
  timeoutMs: number,
  kept: boolean,
  whenUnowned?: () => Promise<void>,
): Promise<unknown> {
  const { id, runId } = posted;
  const started = Date.now();
  let message: InboxMessage | undefined = posted;
  let delay = 10;
  let checks = 0;
  for (;;) {
    if (message && message.state !== 'pending') {
      // Read once by its only reader: the inbox keeps no answered signal its caller did not name.
      if (!kept) await store.deleteMessage(id).catch(() => {});
      if (message.state === 'applied') return JSON.parse(message.result ?? 'null') as unknown;
      throw refusal(message, runId);
    }
    if (Date.now() - started >= timeoutMs) throw new SignalTimeoutError(runId, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 250);
    message = await store.getMessage(id);
    const periodic = ++checks % 8 === 0;
    // Its row gone, the run is read at once: a prune deletes a signal with its run, and then no answer will come.
    if (!message || (periodic && message.state === 'pending')) {
      const run = await store.getRun(runId);
      if (!run) {
        // Pruned while its caller waited (ended, then deleted with its inbox rows): answered as a signal to a run
        // not stored, as one posted after the prune is (whether it was applied before is not known any more). A row
        // still there is one a store left for no run before posts checked their run: no one else will read it.
        if (message) await store.deleteMessage(id).catch(() => {});
        throw new FlowstateError(
          'RUN_NOT_FOUND',
          `No stored run '${runId}': it was pruned before the signal's answer was read`,
          { workflowId: runId },
        );
      }
      // A row gone while its run is stored (deleted by another reader) is looked at with the periodic checks.
      if (!periodic) continue;
      if (!UNFINISHED.includes(run.status)) {
        // Its answer, if any, was committed with the run's last checkpoint: read after the run's end, it is there
        // (the read before may have been taken before that commit).
        message = await store.getMessage(id);
        if (message && message.state !== 'pending') continue;
        // No owner will read it now (owners read the signals of unfinished runs only).
        await store.deleteMessage(id).catch(() => {});
        throw new ConfigurationError(`Run '${runId}' ended (${run.status}) before it read the signal`, {
          workflowId: runId,
        });
      }
      if (whenUnowned && (!run.owner || (run.leaseUntil ?? 0) <= Date.now())) await whenUnowned();
    }
  }
}

/**
 * A signal's body as compared for its caller's name: JSON with object keys sorted, so the same event or decision
 * sent again with its keys in another order (rebuilt by an HTTP client, say) is the same signal.
 */
function canonicalJson(text: string): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sorted((value as Record<string, unknown>)[key]);
    return out;
  };
  try {
    return JSON.stringify(sorted(JSON.parse(text)));
  } catch {
    return text;
  }
}

/** The owner's refusal, rebuilt as its class (a bad payload an `InputValidationError` with its zod issues). */
function refusal(message: InboxMessage, runId: string): FlowstateError {
  return fromSerialized(JSON.parse(message.result ?? '{}') as SerializedError, runId);
}
