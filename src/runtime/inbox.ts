import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EscalationDecision } from '../model/agent.js';
import {
  ConfigurationError,
  type FlowstateError,
  fromSerialized,
  type SerializedError,
  SignalTimeoutError,
  serializeError,
} from '../model/errors.js';
import type { InboxKind, InboxMessage, WorkflowStore } from '../persistence/types.js';
import { UNFINISHED } from '../persistence/types.js';
import type { Durability } from './durability.js';
import type { WorkflowEvent, WorkflowRun } from './run.js';

/** A signal as stored in the inbox: what it asks of the run. */
export type SignalBody =
  | { readonly event: WorkflowEvent }
  | { readonly stepPath: string; readonly decision: EscalationDecision }
  | { readonly reason?: string };

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

  private apply(message: InboxMessage) {
    const run = this.active.get(message.runId);
    if (!run || this.applying.has(message.id)) return;
    this.applying.add(message.id);
    let state: 'applied' | 'refused' = 'applied';
    let result: unknown;
    try {
      result = applySignal(run, message.kind, JSON.parse(message.body) as SignalBody);
    } catch (error) {
      state = 'refused';
      result = serializeError(error);
    }
    this.logger.debug({ workflowId: message.runId, kind: message.kind, state }, 'signal applied');
    void this.durability.answer(message.runId, message.id, state, result).finally(() => {
      // Kept a little longer than the commit: a poll that read the row before it must not apply it again.
      setTimeout(() => this.applying.delete(message.id), 5_000).unref();
    });
  }
}

/**
 * The caller's side: stores a signal for a run owned by another engine and waits until its owner applied or refused
 * it. Polls with backoff; a run that ended meanwhile refuses what it never read.
 */
export async function postSignal(
  store: WorkflowStore,
  runId: string,
  kind: InboxKind,
  body: SignalBody,
  timeoutMs: number,
): Promise<unknown> {
  const id = randomUUID();
  const started = Date.now();
  await store.post({ id, runId, kind, body: JSON.stringify(body), state: 'pending', createdAt: started });
  let delay = 10;
  let checks = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 250);
    const message = await store.getMessage(id);
    if (message && message.state !== 'pending') {
      // Read once by its only reader: the inbox keeps no answered signal.
      await store.deleteMessage(id).catch(() => {});
      if (message.state === 'applied') return JSON.parse(message.result ?? 'null') as unknown;
      throw refusal(message, runId);
    }
    if (++checks % 8 === 0) {
      const run = await store.getRun(runId);
      if (run && !UNFINISHED.includes(run.status)) {
        // No owner will read it now (owners read the signals of unfinished runs only).
        await store.deleteMessage(id).catch(() => {});
        throw new ConfigurationError(`Run '${runId}' ended (${run.status}) before it read the signal`, {
          workflowId: runId,
        });
      }
    }
    if (Date.now() - started >= timeoutMs) throw new SignalTimeoutError(runId, timeoutMs);
  }
}

/** The owner's refusal, rebuilt as its class (a bad payload an `InputValidationError` with its zod issues). */
function refusal(message: InboxMessage, runId: string): FlowstateError {
  return fromSerialized(JSON.parse(message.result ?? '{}') as SerializedError, runId);
}
