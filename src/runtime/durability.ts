import type { Logger } from 'pino';
import type { Actor, AnyStateMachine } from 'xstate';
import type { Clock } from '../machine/clock.js';
import type { WorkflowOutcome } from '../machine/context.js';
import type { StepJournal } from '../machine/step-logic.js';
import { BatchWriter, type Checkpoint } from '../persistence/batch-writer.js';
import { type SecretsHook, sealValue, stringifySealed } from '../persistence/secrets.js';
import type { RunStatus, TimerRow, WorkflowStore } from '../persistence/types.js';

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
}

interface PersistedNode {
  snapshot?: {
    phase?: string;
    deadline?: number;
    input?: { path?: string };
    context?: { pathPrefix?: string };
    children?: Record<string, PersistedNode>;
  };
  children?: Record<string, PersistedNode>;
}

/**
 * The engine's side of durability: checkpoints every run after each burst of transitions (group-committed with
 * the other runs), journals step outputs, and writes each run's pending deadlines beside its snapshot.
 */
export class Durability {
  readonly writer: BatchWriter;
  /** What to do with a run whose checkpoint the store refused (its id belongs to another stored run). */
  private readonly refusals = new Map<string, () => void>();

  constructor(
    readonly store: WorkflowStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly secrets: SecretsHook | undefined,
  ) {
    this.writer = new BatchWriter(
      store,
      (error) => this.logger.error({ err: error }, 'store write failed'),
      (runId) => {
        const refused = this.refusals.get(runId);
        if (refused) refused();
        else this.logger.warn({ workflowId: runId }, 'checkpoint refused: another stored run has this id');
      },
    );
  }

  /** The journal the step actors use. */
  journal(): StepJournal {
    return {
      get: async (key) => {
        const entry = await this.store.getJournal(key);
        return entry ? { output: JSON.parse(entry.output) as unknown } : undefined;
      },
      put: (key, entry) =>
        this.writer.record({
          key,
          runId: entry.runId,
          stepPath: entry.stepPath,
          attempt: entry.attempt,
          output: JSON.stringify(entry.output ?? null),
          createdAt: this.clock.now(),
        }),
    };
  }

  /** Calls `refused` if the store refuses a checkpoint of this run; returns the function that stops listening. */
  onRefused(runId: string, refused: () => void): () => void {
    this.refusals.set(runId, refused);
    return () => {
      if (this.refusals.get(runId) === refused) this.refusals.delete(runId);
    };
  }

  /** Queues a checkpoint of a run; the snapshot is taken when the batch is written. */
  checkpoint(identity: RunIdentity, actor: Actor<AnyStateMachine>, status: () => RunStatus): Promise<void> {
    return this.writer.checkpoint(identity.id, () => this.take(identity, actor, status()));
  }

  private take(identity: RunIdentity, actor: Actor<AnyStateMachine>, status: RunStatus): Checkpoint {
    const persisted = actor.getPersistedSnapshot() as PersistedNode['snapshot'] & {
      output?: WorkflowOutcome;
    };
    const outcome =
      (actor.getSnapshot() as { status: string }).status === 'done' ? persisted.output : undefined;
    const { secrets: values = NONE, ...record } = identity;
    const seal = <T>(value: T) => sealValue(value, values, this.secrets);
    return {
      run: {
        ...record,
        input: seal(record.input),
        status,
        ...(outcome?.status === 'done' ? { output: seal(outcome.output) } : {}),
        ...(outcome && outcome.status !== 'done' ? { error: seal(outcome.error) } : {}),
        snapshot: stringifySealed(persisted, values, this.secrets),
        updatedAt: this.clock.now(),
      },
      timers: timersOf(identity.id, persisted),
    };
  }
}

/** The pending deadlines in a persisted snapshot: backoffs and escalations of step actors, waits' timers. */
export function timersOf(runId: string, snapshot: PersistedNode['snapshot'], prefix = ''): TimerRow[] {
  const rows: TimerRow[] = [];
  for (const [id, child] of Object.entries(snapshot?.children ?? {})) {
    const s = child.snapshot;
    if (!s) continue;
    if (typeof s.deadline === 'number') {
      if (s.phase === 'backoff')
        rows.push({ runId, stepPath: s.input?.path ?? prefix + id, kind: 'backoff', deadline: s.deadline });
      else if (s.phase === 'escalated' || s.phase === 'supervising') {
        rows.push({
          runId,
          stepPath: s.input?.path ?? prefix + id,
          kind: 'escalation',
          deadline: s.deadline,
        });
      } else if (s.phase === undefined)
        rows.push({ runId, stepPath: prefix + id, kind: 'wait', deadline: s.deadline });
    }
    if (s.children) rows.push(...timersOf(runId, s, s.context?.pathPrefix ?? `${prefix}${id}/`));
  }
  return rows;
}
