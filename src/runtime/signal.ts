import {
  CancelledError,
  ConfigurationError,
  FlowstateError,
  SignalTimeoutError,
  serializeError,
} from '../model/errors.js';
import type { InboxMessage } from '../persistence/types.js';
import { UNFINISHED } from '../persistence/types.js';
import type { Durability } from './durability.js';
import type { EngineCore } from './engine-core.js';
import {
  applySignal,
  awaitAnswer,
  earlierSignal,
  keyedSignalId,
  postSignal,
  type SignalAnswer,
  type SignalBody,
  signalText,
} from './inbox.js';
import type { WorkflowRun } from './run.js';

/** How long a signal to a run in another process waits for its owner, by default. */
const SIGNAL_TIMEOUT_MS = 30_000;

/** How a signal is sent: how long it may wait, and the name its caller gives it. */
interface SignalSettings {
  readonly timeoutMs?: number | undefined;
  /** The caller's name for this signal: sent again under it, it is applied once (needs a store). */
  readonly signalId?: string | undefined;
}

/**
 * Sends a signal to a run wherever it runs: here directly; a run no live engine owns is taken here first (or, for a
 * cancel without its definition, ended in the store); else through the store's inbox to the engine that owns it.
 * A signal its caller named goes through the inbox wherever the run is, and is applied once whatever the retries.
 */
export async function signal(
  core: EngineCore,
  resume: (id: string) => Promise<WorkflowRun>,
  runId: string,
  kind: 'event' | 'decision' | 'cancel',
  body: SignalBody,
  settings: SignalSettings = {},
): Promise<unknown> {
  const { durability, lease, table } = core;
  const timeoutMs = settings.timeoutMs ?? SIGNAL_TIMEOUT_MS;
  const { signalId } = settings;
  if (signalId !== undefined && (typeof signalId !== 'string' || signalId === '' || signalId.length > 200))
    throw new ConfigurationError('signalId is a non-empty string of at most 200 characters', {
      workflowId: runId,
    });
  // With a store, a payload it cannot hold is refused here, before it is posted or applied (see `signalText`).
  const text = durability ? signalText(runId, body) : undefined;
  const keyed: InboxMessage | undefined =
    signalId !== undefined && text !== undefined
      ? {
          id: keyedSignalId(runId, signalId),
          runId,
          kind,
          body: text,
          state: 'pending',
          createdAt: Date.now(),
        }
      : undefined;
  if (keyed && durability) {
    // Sent before under this name: its answer, not a second application (even once the run ended).
    const earlier = await earlierSignal(durability.store, keyed, timeoutMs);
    if (earlier) return earlier.answer;
  }
  const here = table.active.get(runId);
  if (here) return applyHere(core, here, kind, body, timeoutMs, keyed, text);
  if (table.settling(runId)) {
    // Ended here, its end not yet committed: refused once it is (a crash before would bring the run back waiting).
    if (durability && !(await committedWithin(durability, timeoutMs)))
      throw new SignalTimeoutError(runId, timeoutMs);
    throw new ConfigurationError(`Run '${runId}' already ended`, { workflowId: runId });
  }
  if (!durability)
    throw new FlowstateError('RUN_NOT_FOUND', `No active run '${runId}'`, { workflowId: runId });
  const stored = await durability.store.getRun(runId);
  if (!stored) throw new FlowstateError('RUN_NOT_FOUND', `No stored run '${runId}'`, { workflowId: runId });
  if (!UNFINISHED.includes(stored.status)) {
    throw new ConfigurationError(`Run '${runId}' already ended (${stored.status})`, { workflowId: runId });
  }
  const orphan = !stored.owner || (stored.leaseUntil ?? 0) <= Date.now() || stored.owner === lease.owner;
  if (orphan && core.workflows.has(stored.workflow) && !core.closed) {
    // No live owner: take the run here and apply the signal to it.
    const run = await resume(runId).catch((error: unknown) => {
      if (error instanceof FlowstateError && error.code === 'RUN_OWNED') return undefined;
      throw error;
    });
    if (run) return applyHere(core, run, kind, body, timeoutMs, keyed, text);
  } else if (orphan && kind === 'cancel') {
    // No live owner and no definition here: end it in the store (no compensation can run without the definition).
    // Named: stored first, so its answer is committed with the end (a cancel sent again finds it).
    if (keyed) await durability.store.post(keyed);
    const now = Date.now();
    const held = await durability.store.acquire(runId, lease.owner, now, now + lease.ttlMs);
    if (held) {
      const reason = new CancelledError((body as { reason?: string }).reason ?? 'The run was cancelled', {
        workflowId: runId,
      });
      // Queued in the same tick as the end's checkpoint: one batch, one transaction.
      const answered = keyed
        ? durability.writer.answer({ id: keyed.id, runId, state: 'applied', result: 'null', lease: held })
        : undefined;
      await durability.end(stored, held, 'cancelled', serializeError(reason));
      await answered;
      return null;
    }
  }
  // Posted for its owner. If that owner hands the run back without reading it (another process that took the run for
  // a signal of its own, at the same moment as this one), an engine that knows the workflow takes it then: its inbox
  // reader applies the signal (else it would wait for a next owner that may never come).
  const takeOver =
    core.workflows.has(stored.workflow) && !core.closed
      ? async () => {
          const run = await resume(runId).catch(() => undefined);
          if (run) await core.inbox?.drain();
        }
      : undefined;
  return postSignal(durability.store, runId, kind, body, timeoutMs, keyed?.id, takeOver, text);
}

/**
 * Applies a signal to the run's copy in this engine and answers once what it changed is committed, as the inbox's
 * owner does: an answer must not be lost with this process, nor stand for a copy whose lease moved on meanwhile (its
 * write fenced: the signal is then sent to the run where it is now, through the inbox).
 */
async function applyHere(
  core: EngineCore,
  run: WorkflowRun,
  kind: 'event' | 'decision' | 'cancel',
  body: SignalBody,
  timeoutMs: number,
  keyed: InboxMessage | undefined,
  text: string | undefined,
): Promise<unknown> {
  const entry = core.table.get(run.id);
  const { durability, inbox } = core;
  if (!durability || !entry) return applySignal(run, kind, body);
  let answer: SignalAnswer | undefined;
  if (keyed && inbox) {
    // Named by its caller: posted first and answered with the run's checkpoint, as the owner answers the inbox.
    answer = await inbox.postAndApply(keyed);
    // Not this call's to apply (being applied, or posted before, or the run left): the owner's answer is awaited.
    if (!answer) return awaitAnswer(durability.store, keyed, timeoutMs, true);
  } else {
    answer = { state: 'applied', result: applySignal(run, kind, body) };
  }
  // As long as a signal through the inbox waits for its owner, no longer: the store is slow or down.
  if (!(await committedWithin(durability, timeoutMs)))
    throw new SignalTimeoutError(run.id, timeoutMs, answer.state === 'applied');
  // Stopped since (its lease moved on, or its state could not be stored): what the signal changed is not the run's.
  // Handed over by close(), its last state (with the signal) was written before the release.
  if (entry.stopReason && !entry.handedOver) {
    return keyed
      ? awaitAnswer(durability.store, keyed, timeoutMs, true)
      : postSignal(durability.store, run.id, kind, body, timeoutMs, undefined, undefined, text);
  }
  // A refusal of a named signal is its answer too, given once committed (a crash before would apply it elsewhere).
  if (answer.state === 'refused') throw answer.error;
  return answer.result;
}

/** Whether everything queued so far is committed within `timeoutMs`. */
async function committedWithin(durability: Durability, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    durability.writer.flush().then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
