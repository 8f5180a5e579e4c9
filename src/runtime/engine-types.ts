/** The engine's public types: its options, a run's options, and what `createEngine` returns. */
import type { Logger } from 'pino';
import type { AnyStateMachine, InputFrom, OutputFrom } from 'xstate';
import type { Clock } from '../machine/clock.js';
import type { AgentTransport } from '../machine/transport.js';
import type { AgentRegistry, EscalationDecision } from '../model/agent.js';
import type { AnyWorkflowDefinition, WorkflowContext, WorkflowDefinition } from '../model/definition.js';
import type { InspectOption } from '../observability/inspect.js';
import type { MetricsOptions } from '../observability/metrics.js';
import type { TracingOption } from '../observability/tracing.js';
import type { SecretsHook } from '../persistence/secrets.js';
import type { RunFilter, RunRecord, WorkflowStore } from '../persistence/types.js';
import type { DurationHistory } from '../progress/history.js';
import type { PassivateOptions } from './passivate-options.js';
import type { WorkflowEvent, WorkflowRun } from './run.js';

/** Options of {@link createEngine}: every dependency is injected. */
export interface EngineOptions {
  /** Agents by name. @default {} */
  readonly agents?: AgentRegistry;
  /** Guards that definitions name (`when: 'hasCritical'`). @default {} */
  // biome-ignore lint/suspicious/noExplicitAny: guards are shared by workflows of any input type
  readonly guards?: Readonly<Record<string, (ctx: WorkflowContext<any>) => boolean>>;
  /** Mappings that definitions name (`input: 'tableList'`). @default {} */
  // biome-ignore lint/suspicious/noExplicitAny: as above
  readonly mappings?: Readonly<Record<string, (ctx: WorkflowContext<any>) => unknown>>;
  /**
   * Where the engine logs: runs started, resumed and ended, steps failed and escalated, store faults. `false` logs
   * nothing and never loads pino (a third of the package's import time to a first workflow done); agents' `ctx.logger`
   * is then a silent logger (level methods, `child`, `isLevelEnabled`, `bindings`, `flush`).
   * @default a pino logger at level `FLOWSTATE_LOG_LEVEL` or `warn`, secrets redacted
   */
  readonly logger?: Logger | false;
  /**
   * The time of the workflows: step timeouts, backoff, wait and escalation deadlines, timestamps in the store and
   * progress. Leases keep to wall-clock time whatever this is.
   * @default the system clock; inject a fake one in tests
   */
  readonly clock?: Clock;
  /** The source of backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Definitions (and hand-written machines) to register, so runs can be started, and resumed, by id. */
  readonly workflows?: readonly (AnyWorkflowDefinition | AnyStateMachine)[];
  /**
   * Where runs are checkpointed and step outputs journaled: `sqliteStore(...)` or `postgresStore(...)`.
   * @default none: runs live in memory and cannot be resumed after the process ends
   */
  readonly store?: WorkflowStore;
  /** How secret inputs (a definition's `secrets` paths) are sealed in the store. @default redacted */
  readonly secrets?: SecretsHook;
  /**
   * Where step durations are learned for the ETA of `run.progress$`. @default with a `store`, a history kept in the
   * store (written behind with its batches, loaded back by the next engine on it); else one `memoryHistory()`
   */
  readonly history?: DurationHistory;
  /** `run.progress$` emits at most once per `throttleMs` (a failure and the final state excepted). @default 100 */
  readonly progress?: { readonly throttleMs?: number };
  /**
   * Watches every run: an XState inspection observer function, or an inspector such as `createNodeInspector(...)`
   * or any `@statelyai/inspect` inspector (see docs/inspector.md).
   */
  readonly inspect?: InspectOption | undefined;
  /**
   * Refuse definitions that `verify` finds errors in (a `WorkflowVerificationError` at register or start).
   * Set `false` for a definition you know fails on purpose. @default true
   */
  readonly verify?: boolean;
  /**
   * Run ownership on a `store`: each unfinished run is owned by one engine at a time through a lease on its row,
   * renewed every `ttlMs / 3`. A run whose owner died is taken over once its lease expires: by `recover()`, and
   * (with `adopt`) by any engine on the store about every `ttlMs / 2`, a run that only waits (passivated, say)
   * once it is due. `owner` names this engine in the store; give
   * a stable one per replica (a pod name) so a restarted replica takes its own runs back at once, never the same
   * one to two live engines. See docs/durability.md.
   * @default { ttlMs: 15_000, adopt: true, owner: '<host>:<pid>:<random>' }
   */
  readonly lease?: { readonly ttlMs?: number; readonly adopt?: boolean; readonly owner?: string };
  /**
   * Signals from other processes (`engine.send`, `resolveEscalation`, `cancel` on a run another engine owns) go
   * through the store's inbox; the owner looks for them every `pollMs` (and at once on PostgreSQL, which notifies).
   * @default { pollMs: 250 } (1,000 where the store notifies)
   */
  readonly inbox?: { readonly pollMs?: number };
  /**
   * What to do with stored runs of a definition that changed since they started, by workflow id. Given the stored
   * run, return a snapshot for the new definition, ask to restart the run from its input, or to cancel it. Without a
   * hook such a run is marked failed with a `DefinitionVersionError` when an engine takes it.
   */
  readonly migrate?: Readonly<Record<string, MigrationHook>>;
  /**
   * Passivation, with a `store`: a run whose only activity has been waiting (a `waitFor`, an escalation waiting for a
   * decision, a backoff) for `afterMs` is dropped from memory, its state in the store and its lease released. Its
   * event (`engine.send`), decision, cancel, a signal from another process, or its next deadline brings it back,
   * restored exactly as a resumed run (nothing journaled runs again; epoch fencing), here or on any engine on the
   * store. One scheduler per engine reads the due deadlines from the store and wakes runs `wakeAheadMs` before them.
   * `get`, `list` and the store answer for a passivated run; `engine.active` lists only runs in memory. See
   * docs/durability.md (Passivation).
   * @default none: every unfinished run stays in memory while it waits
   * @example
   * ```ts
   * const engine = createEngine({ agents, store: sqliteStore('./runs.db'), passivate: { afterMs: 30_000 } });
   * ```
   */
  readonly passivate?: PassivateOptions;
  /**
   * Runs the agents of steps on a queue (`step(name, { queue })`, or every step with `defaultQueue`) elsewhere:
   * `bullmqTransport({ connection })` from `flowstate/bullmq` hands each attempt to BullMQ workers. Their agents need
   * not be registered here; outputs are journaled before the run moves on, as for agents in this process. The
   * transport stays yours to close after the engine. See docs/distributed.md.
   * @default none: every agent runs in this process and a step's `queue` is ignored
   */
  readonly transport?: AgentTransport;
  /** With a `transport`, the queue of the steps that name none. @default none: such steps run in this process */
  readonly defaultQueue?: string;
  /**
   * Prometheus metrics (prom-client) registered in your registry: runs started and ended, step durations, retries,
   * active and parked runs, escalations waiting, store write latency, lease takeovers (docs/observe.md).
   * @default none
   */
  readonly metrics?: MetricsOptions;
  /**
   * OpenTelemetry spans through `@opentelemetry/api`: one per run and one per step attempt. `true` uses the global
   * tracer provider (set up by your SDK); or pass `{ tracer }`. @default false
   */
  readonly tracing?: TracingOption;
}

/** A stored run handed to a {@link MigrationHook}. */
export interface StoredRunForMigration {
  /** The run id. */
  readonly id: string;
  /** The id of the run's definition: the key of `migrate` whose hook is called. */
  readonly workflow: string;
  /** The version the run started with. */
  readonly version: string;
  /** The definition now registered. */
  readonly definition: AnyWorkflowDefinition;
  /** The run's input (secrets opened with the engine's hook). */
  readonly input: unknown;
  /**
   * The persisted XState snapshot of the old machine (parsed JSON), or `undefined` if the run had not started. The
   * store keeps the run's input once, in the run record, not in each snapshot; it is put back before the hook is
   * called, so the snapshot holds it where the run held it (`context.input`, the inputs of steps that take it
   * unmapped) as the very object passed as `input`. A snapshot returned with that object in place is stored without
   * repeating it; a copy of it is stored in full.
   */
  readonly snapshot: unknown;
}

/** A migration's answer: continue from a snapshot of the new machine, restart from the input, or cancel. */
export type MigrationDecision =
  | { readonly action: 'snapshot'; readonly snapshot: unknown }
  | { readonly action: 'restart'; readonly input?: unknown }
  | { readonly action: 'cancel'; readonly reason?: string };

/** Migrates a stored run to the registered version of its definition. */
export type MigrationHook = (stored: StoredRunForMigration) => MigrationDecision | Promise<MigrationDecision>;

/** Options of a signal to a run that may live in another process. */
export interface SignalOptions {
  /**
   * How long to wait for the run's owner to apply the signal before rejecting with a `SignalTimeoutError` (the
   * signal stays queued for the run's next owner). @default 30_000
   */
  readonly timeoutMs?: number;
  /**
   * Your name for this signal, unique per run (at most 200 characters): a signal sent again under the same name
   * (after a timeout, a lost answer, a crash of the caller) is applied once, and every sending answers as the first
   * one did, even after the run ended. Reusing a name for a different signal throws a `ConfigurationError`. Needs a
   * store (the names and answers are kept in its inbox as long as the run); without one it is ignored (nothing is
   * ambiguous within one process).
   *
   * @example
   * ```ts
   * await engine.send(runId, { type: 'approved' }, { signalId: `approval-${ticket.id}` });
   * ```
   */
  readonly signalId?: string;
}

/** Options of one run. */
export interface StartOptions {
  /** The run id (the prefix of every idempotency key). Must be unique in the store. @default a random UUID */
  readonly id?: string;
}

/** The engine: binds definitions to agents and runs them. */
export interface Engine {
  /** Registers a definition (checking every agent, guard and mapping name), so it can be started and resumed by id. */
  register(definition: AnyWorkflowDefinition): Engine;
  /**
   * Registers a hand-written XState machine (it needs an `id`): its invokes that name registered agents run as agent
   * steps, any other actor it provides as is (see docs/handwritten.md). Throws a `ConfigurationError` for a machine
   * without an id or an invoke `src` that is neither.
   */
  register(machine: AnyStateMachine): Engine;
  /**
   * Validates the input and starts a run. Throws an `InputValidationError` (nothing started) for bad input and a
   * `WorkflowDefinitionError` when a name the definition uses is not registered. `input` is typed as the input
   * schema accepts it (a field with a `.default()` may be left out); mappings see it parsed.
   */
  start<I, O, In>(
    definition: WorkflowDefinition<I, O, In>,
    // The schema's input type (defaults optional), read off the definition only: not widened by what is passed.
    input: NoInfer<In>,
    options?: StartOptions,
  ): WorkflowRun<O>;
  /**
   * Starts a run of a hand-written XState machine, durable like a definition's (see docs/handwritten.md). Its
   * context gets `input` as given (a machine has no input schema); `result` resolves with the machine's output.
   */
  start<M extends AnyStateMachine>(
    machine: M,
    input: InputFrom<M>,
    options?: StartOptions,
  ): WorkflowRun<OutputFrom<M>>;
  start(workflowId: string, input: unknown, options?: StartOptions): WorkflowRun<unknown>;
  /**
   * Takes a stored run's lease and continues it from its last checkpoint: journaled steps are not called again,
   * timers resume with the time they had left. Rejects with `RunOwnedError` while another live engine owns it,
   * `DefinitionVersionError` when the registered definition changed since (and no `migrate` hook decides; the run
   * is then marked failed), `CorruptRunError` when the stored run does not parse, and `StoredFormatError` when a
   * newer Flowstate stored it in a format this build does not read (the run is left as stored, lease not kept).
   */
  resume(id: string): Promise<WorkflowRun>;
  /**
   * Resumes every unfinished stored run that no live engine owns (its lease expired, was released, or is this
   * engine's). A run that cannot be resumed is logged and skipped; the others go on. With `passivate`, only the runs
   * that were busy at their last checkpoint are resumed (50 at a time); those that only waited stay in the store and
   * are woken when due or addressed.
   */
  recover(): Promise<WorkflowRun[]>;
  /** Stored runs (or, without a store, the runs of this process), oldest first. */
  list(filter?: RunFilter): Promise<RunRecord[]>;
  /** One run's record, or `undefined`. */
  get(id: string): Promise<RunRecord | undefined>;
  /** Resolves once every checkpoint and journal entry queued so far is committed. */
  flush(): Promise<void>;
  /**
   * Delivers an event to the `waitFor` steps of a run, wherever it runs: here directly, or through the store's inbox
   * to the engine that owns it. Resolves once applied and committed (whether a step took it); rejects with the
   * owner's typed error (`InputValidationError` for a bad payload), `RUN_NOT_FOUND`, or a `SignalTimeoutError` after
   * `timeoutMs` (for a run here: applied, its commit not done yet).
   */
  send(runId: string, event: WorkflowEvent, options?: SignalOptions): Promise<boolean>;
  /** Decides an escalated step of a run, wherever it runs (see {@link Engine.send}). */
  resolveEscalation(
    runId: string,
    stepPath: string,
    decision: EscalationDecision,
    options?: SignalOptions,
  ): Promise<void>;
  /**
   * Cancels a run wherever it runs (see {@link Engine.send}). A stored run no live engine owns is taken by this
   * engine and cancelled here (it stops where it is: no compensation runs) if its definition is registered, else
   * marked `cancelled` in the store.
   */
  cancel(runId: string, reason?: string, options?: SignalOptions): Promise<void>;
  /** This engine's owner id in the store's leases. */
  readonly owner: string;
  /**
   * Graceful shutdown: stops the background loops and this engine's runs (their agents' signals fire), commits what
   * is queued, and releases the runs' leases so another engine takes them over at once. Then closes the store.
   * Their `result` promises reject with a `LeaseLostError`. Waits while the store is down: nothing queued is lost.
   */
  close(): Promise<void>;
  /** The definition's machine bound to this engine's agents, guards and clock, to embed with `createActor`. */
  machineFor(definition: AnyWorkflowDefinition | AnyStateMachine): AnyStateMachine;
  /** The definitions registered, by id. */
  readonly workflows: ReadonlyMap<string, AnyWorkflowDefinition>;
  /** The runs of this engine that have not ended yet and are in memory, by id (a passivated run is not: see `passivate`). */
  readonly active: ReadonlyMap<string, WorkflowRun>;
}
