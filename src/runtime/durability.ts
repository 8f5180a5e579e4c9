import type { Logger } from 'pino';
import type { Actor, AnyStateMachine } from 'xstate';
import type { Clock } from '../machine/clock.js';
import type { WorkflowOutcome } from '../machine/context.js';
import type { StepJournal } from '../machine/step-logic.js';
import { FlowstateError, InputValidationError, type SerializedError } from '../model/errors.js';
import { BatchWriter, type Checkpoint } from '../persistence/batch-writer.js';
import { presetInputJson } from '../persistence/rows.js';
import { parseSealed, type SecretsHook, sealValue, stringifySealed } from '../persistence/secrets.js';
import { noJsonForm, unstorableIssue, unstorableReason } from '../persistence/storable.js';
import { withStoredFormat } from '../persistence/stored-format.js';
import { omitsRunInput, RUN_INPUT_MARKER, withoutRunInput } from '../persistence/stored-input.js';
import type { RunLease, RunStatus, StoredRun, TimerRow, WorkflowStore } from '../persistence/types.js';
import { type PersistedNode, waitsOf } from './deadlines.js';
import { ENTRIES_FIELD, entriesOf } from './entries.js';
import { delayedEventsOf, SCHEDULED_FIELD } from './scheduled.js';

const NONE: ReadonlySet<string> = new Set();

/** What a checkpoint needs to know about a run beside its actor. */
export interface RunIdentity {
  readonly id: string;
  readonly workflow: string;
  readonly version: string;
  readonly input: unknown;
  readonly createdAt: number;
  /** The run's secret values, sealed wherever they appear in what is stored. */
  readonly secrets?: ReadonlySet<string>;
  /** The run restarts from its input (a migration): its journal is cleared with its first checkpoint. */
  readonly resetJournal?: boolean;
}

/** What the engine is told about the runs its writer handles. */
export interface DurabilityEvents {
  /** The run's lease moved on (another engine took it): stop this copy. */
  readonly onFenced: (runId: string) => void;
  /** The run's state cannot be serialized (a value JSON cannot hold): it cannot be made durable; stop it. */
  readonly onUnwritable: (runId: string, error: unknown) => void;
}

/**
 * The engine's side of durability: claims new runs, checkpoints every run after each burst of transitions
 * (group-committed with the other runs), journals step outputs, answers signals, and writes each run's pending
 * deadlines beside its snapshot, every write under the run's lease. Failed writes are retried by the writer.
 */
export class Durability {
  readonly writer: BatchWriter;
  /** The lease of each run this engine owns now. */
  readonly leases = new Map<string, RunLease>();
  private readonly reset = new Set<string>();
  /**
   * Set by an engine that passivates: told, as each checkpoint is taken, whether the run only waits and its pending
   * deadlines (what is written).
   */
  taken: ((runId: string, idle: boolean, timers: readonly TimerRow[]) => void) | undefined;
  /** Set by the engine: whether agents may be called now (see `StepJournal.ready`). */
  gate: () => Promise<void> | undefined = () => undefined;

  constructor(
    readonly store: WorkflowStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly secrets: SecretsHook | undefined,
    events: DurabilityEvents,
    /** The secret values of a run, to seal its journal entries. */
    private readonly secretsOf: (runId: string) => ReadonlySet<string> | undefined,
  ) {
    let failing = 0;
    this.writer = new BatchWriter(store, {
      onError: (error, retryInMs) => {
        failing++;
        // Every failure while the store is down would flood the log: the first, then every tenth.
        if (failing === 1 || failing % 10 === 0)
          this.logger.error({ err: error, failures: failing, retryInMs }, 'store write failed; retrying');
      },
      onRecovered: (failures) => {
        failing = 0;
        this.logger.warn({ failures }, 'store writes recovered');
      },
      onFenced: (runId) => {
        this.leases.delete(runId);
        events.onFenced(runId);
      },
      onUnwritable: (runId, error) => {
        this.logger.error({ err: error, workflowId: runId }, 'run state cannot be stored: run stopped');
        events.onUnwritable(runId, error);
      },
    });
  }

  /** The journal the step actors use: reads retried while the store is down, writes under the run's lease. */
  journal(): StepJournal {
    const { store } = this;
    const under = store.listJournalUnder?.bind(store);
    const all = store.listJournal?.bind(store);
    // A store that lists its journal lets a map leave its ended items' results out of its snapshot.
    const read = under
      ? (runId: string, prefix: string) => under(runId, prefix)
      : all
        ? async (runId: string, prefix: string) =>
            (await all(runId)).filter((e) => e.stepPath.startsWith(prefix))
        : undefined;
    return {
      ...(read
        ? {
            list: async (runId: string, prefix: string) =>
              (await retrying(() => read(runId, prefix), this.logger)).map((e) => ({
                key: e.key,
                stepPath: e.stepPath,
                attempt: e.attempt,
                output: parseSealed(e.output, this.secrets),
              })),
          }
        : {}),
      ready: () => this.gate(),
      get: async (key) => {
        const entry = await retrying(() => this.store.getJournal(key), this.logger);
        return entry ? { output: parseSealed(entry.output, this.secrets) } : undefined;
      },
      put: (key, entry) => {
        const lease = this.leases.get(entry.runId);
        // A run this engine no longer owns writes nothing; its copy is being stopped.
        if (!lease) return new Promise<void>(() => {});
        let output: string;
        try {
          output = stringifySealed(entry.output ?? null, this.secretsOf(entry.runId) ?? NONE, this.secrets);
        } catch (cause) {
          // A map's items (journaled as attempt 0 when the map starts): thrown, the map fails its run, as it did.
          if (entry.attempt === 0)
            throw new InputValidationError(
              'input',
              [unstorableIssue(entry.output, cause, [entry.stepPath])],
              {
                workflowId: entry.runId,
                stepPath: entry.stepPath,
                cause,
              },
            );
          // Refused here, for its step alone: the attempt fails with it (never in the store's transaction).
          return Promise.reject(unstorableOutput(entry.runId, entry.stepPath, cause));
        }
        return this.writer.record({
          key,
          runId: entry.runId,
          stepPath: entry.stepPath,
          attempt: entry.attempt,
          output,
          createdAt: this.clock.now(),
          lease,
        });
      },
    };
  }

  /**
   * A new run's input as its row stores it (JSON text, its secrets sealed), made as the run starts: an input JSON
   * cannot hold (a BigInt, a circular structure, nesting too deep) is refused with an `InputValidationError` before
   * anything is written. The claim writes this text as it is (the input is not serialized again).
   */
  storedInput(runId: string, input: unknown, secrets: ReadonlySet<string>): string {
    let text: string | undefined;
    try {
      text = stringifySealed(input, secrets, this.secrets) as string | undefined;
    } catch (cause) {
      throw new InputValidationError('input', [unstorableIssue(input, cause)], { workflowId: runId, cause });
    }
    if (text !== undefined) return text;
    // No input is stored as null; a function or a symbol has no JSON text at all (the row needs one).
    if (input === undefined) return 'null';
    throw new InputValidationError('input', [noJsonForm(typeof input)], { workflowId: runId });
  }

  /**
   * Claims a new run's id in the store with this engine's lease; `false` if another run holds the id. `inputJson`
   * is the input's text from {@link storedInput}. Rejects with an `InputValidationError`, writing nothing, for an
   * input JSON cannot hold.
   */
  async claim(
    identity: RunIdentity,
    owner: string,
    leaseUntil: number,
    inputJson?: string,
  ): Promise<boolean> {
    const claim = { run: this.record(identity, 'running', '', inputJson), owner, leaseUntil };
    if (inputJson !== undefined) presetInputJson(claim.run, inputJson);
    let committed: boolean;
    try {
      committed = await this.writer.claim(claim);
    } catch (cause) {
      throw new InputValidationError('input', [unstorableIssue(identity.input, cause)], {
        workflowId: identity.id,
        cause,
      });
    }
    const claimed = committed || (await this.ownClaim(claim.run, owner));
    if (claimed) this.leases.set(identity.id, { owner, epoch: 1 });
    return claimed;
  }

  /**
   * Whether a refused claim was refused by its own row: a batch that committed but whose answer was lost (the
   * connection dropped after COMMIT) is written again, and the id is then taken, by this very claim. Its row is
   * still the claim's: this owner, the first epoch, nothing run yet, the same definition and creation time.
   */
  private async ownClaim(run: StoredRun, owner: string): Promise<boolean> {
    const stored = await retrying(() => this.store.getRun(run.id), this.logger);
    return (
      stored !== undefined &&
      stored.owner === owner &&
      stored.epoch === 1 &&
      stored.status === 'running' &&
      stored.snapshot === '' &&
      stored.workflow === run.workflow &&
      stored.createdAt === run.createdAt
    );
  }

  /** Queues a checkpoint of a run; the snapshot is taken when the batch is written. */
  checkpoint(identity: RunIdentity, actor: Actor<AnyStateMachine>, status: () => RunStatus): Promise<void> {
    const lease = this.leases.get(identity.id);
    if (!lease) return Promise.resolve();
    return this.writer.checkpoint(identity.id, () => this.take(identity, actor, status(), lease));
  }

  /** Queues the owner's answer to a signal (committed with the run's next checkpoint). */
  answer(runId: string, messageId: string, state: 'applied' | 'refused', result: unknown): Promise<void> {
    const lease = this.leases.get(runId);
    if (!lease) return Promise.resolve();
    return this.writer.answer({ id: messageId, runId, state, result: JSON.stringify(result ?? null), lease });
  }

  /** Ends a stored run without running it (no definition needed): written under a freshly taken lease. */
  async end(stored: StoredRun, lease: RunLease, status: RunStatus, error: SerializedError): Promise<void> {
    await this.writer.checkpoint(stored.id, () => ({
      run: { ...stored, status, error, updatedAt: this.clock.now() },
      timers: [],
      lease,
    }));
    this.leases.delete(stored.id);
  }

  private record(identity: RunIdentity, status: RunStatus, snapshot: string, inputJson?: string): StoredRun {
    // Field by field: an identity may be an object with more in it (the engine's entry of the run).
    const { id, workflow, version, input, createdAt, secrets: values = NONE } = identity;
    return {
      id,
      workflow,
      version,
      // Sealed: from its stored text when made already (the same value sealValue makes, without sealing it again).
      input:
        inputJson !== undefined && values.size > 0
          ? JSON.parse(inputJson)
          : sealValue(input, values, this.secrets),
      createdAt,
      status,
      snapshot,
      updatedAt: this.clock.now(),
    };
  }

  private take(
    identity: RunIdentity,
    actor: Actor<AnyStateMachine>,
    status: RunStatus,
    lease: RunLease,
  ): Checkpoint {
    const persisted = persistedOf(actor, identity.input) as PersistedNode['snapshot'] & {
      output?: WorkflowOutcome;
    };
    const outcome =
      (actor.getSnapshot() as { status: string }).status === 'done' ? persisted.output : undefined;
    const values = identity.secrets ?? NONE;
    const seal = <T>(value: T) => sealValue(value, values, this.secrets);
    const waits = outcome ? { timers: [], idle: false } : waitsOf(identity.id, persisted);
    this.taken?.(identity.id, waits.idle, waits.timers);
    return {
      run: {
        ...this.record(
          identity,
          status,
          // The input is the record's (written with the claim, or a restart): not repeated in every snapshot.
          stringifySealed(
            withFields(withoutRunInput(persisted, identity.input), actor, this.clock),
            values,
            this.secrets,
          ),
        ),
        ...(outcome?.status === 'done' ? { output: seal(outcome.output) } : {}),
        ...(outcome && outcome.status !== 'done' ? { error: seal(outcome.error) } : {}),
      },
      timers: waits.timers,
      lease,
      ...(waits.idle ? { idle: true } : {}),
      // Cleared until the first checkpoint commits; repeating it before then is harmless (nothing journaled yet).
      ...(identity.resetJournal && !this.reset.has(identity.id) ? { resetJournal: true } : {}),
    };
  }

  /** Marks a restarted run's journal as cleared (its first checkpoint committed). */
  journalReset(runId: string): void {
    this.reset.add(runId);
  }
}

/**
 * The error of an attempt whose output cannot be stored as JSON: not retried (the same output would not be stored
 * either), so the step fails once, with it, as its definition says a failed step does (escalation, `catch`, failure).
 */
function unstorableOutput(runId: string, stepPath: string, cause: unknown): FlowstateError {
  const error = new FlowstateError(
    'OUTPUT_INVALID',
    `The output of step '${stepPath}' cannot be stored as JSON: ${unstorableReason(cause)}`,
    { workflowId: runId, stepPath, cause },
  );
  return Object.assign(error, { retryable: false });
}

/** Calls a store read until it succeeds, backing off (the store may be restarting); never gives up. */
async function retrying<T>(read: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1, delay = 50; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
    try {
      return await read();
    } catch (error) {
      if (attempt === 1 || attempt % 10 === 0)
        logger.warn({ err: error, attempt }, 'store read failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * The actor's persisted snapshot, its context's input (the run's, kept in the record) swapped for the marker
 * before XState persists the context: XState walks (and copies) every value of the context for actor references,
 * so a 20,000-item input cost about 3 s of CPU over a map's 2,000 checkpoints. The rest of the run's input copies
 * (steps, child workflows) are left out after, by {@link withoutRunInput}.
 */
function persistedOf(actor: Actor<AnyStateMachine>, input: unknown): object {
  const snapshot = actor.getSnapshot() as { context?: unknown };
  const context = snapshot.context as Record<string, unknown> | undefined;
  if (!omitsRunInput(input) || typeof context !== 'object' || context === null || context.input !== input)
    return actor.getPersistedSnapshot();
  return actor.logic.getPersistedSnapshot({
    ...snapshot,
    context: { ...context, input: RUN_INPUT_MARKER },
  } as never);
}

/**
 * The persisted snapshot with Flowstate's fields beside XState's, in one copy of its top level: the stored format
 * first (an older build that reads formats refuses a newer one), the run's entry counts of a hand-written machine,
 * and its machines' delayed events (XState does not persist them), if it has any.
 */
function withFields(persisted: object, actor: Actor<AnyStateMachine>, clock: Clock): object {
  const entries = entriesOf(actor);
  const delayed = delayedEventsOf(actor, clock);
  if (!entries && !delayed) return withStoredFormat(persisted);
  return withStoredFormat(persisted, {
    ...(entries ? { [ENTRIES_FIELD]: entries } : {}),
    ...(delayed ? { [SCHEDULED_FIELD]: delayed } : {}),
  });
}
