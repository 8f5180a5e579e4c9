/** The engine's public types: its options, a run's options, and what `createEngine` returns. */
import type { Logger } from 'pino';
import type { AnyStateMachine } from 'xstate';
import type { Clock } from '../machine/clock.js';
import type { AgentRegistry } from '../model/agent.js';
import type { AnyWorkflowDefinition, WorkflowContext, WorkflowDefinition } from '../model/definition.js';
import type { InspectOption } from '../observability/inspect.js';
import type { SecretsHook } from '../persistence/secrets.js';
import type { RunFilter, RunRecord, WorkflowStore } from '../persistence/types.js';
import type { DurationHistory } from '../progress/history.js';
import type { WorkflowRun } from './run.js';

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
  /** @default a pino logger at level `FLOWSTATE_LOG_LEVEL` or `warn`, secrets redacted */
  readonly logger?: Logger;
  /** @default the system clock; inject a fake one in tests */
  readonly clock?: Clock;
  /** The source of backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Definitions to register, so runs can be started, and resumed, by id. */
  readonly workflows?: readonly AnyWorkflowDefinition[];
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
   * Validates the input and starts a run. Throws an `InputValidationError` (nothing started) for bad input and a
   * `WorkflowDefinitionError` when a name the definition uses is not registered.
   */
  start<I, O>(definition: WorkflowDefinition<I, O>, input: I, options?: StartOptions): WorkflowRun<O>;
  start(workflowId: string, input: unknown, options?: StartOptions): WorkflowRun<unknown>;
  /**
   * Continues a stored run from its last checkpoint: journaled steps are not called again, timers resume with the
   * time they had left. Rejects with `DefinitionVersionError` when the registered definition changed since, and
   * `CorruptRunError` when the stored run does not parse.
   */
  resume(id: string): Promise<WorkflowRun>;
  /** Resumes every unfinished stored run. A run that cannot be resumed is logged and skipped; the others go on. */
  recover(): Promise<WorkflowRun[]>;
  /** Stored runs (or, without a store, the runs of this process), oldest first. */
  list(filter?: RunFilter): Promise<RunRecord[]>;
  /** One run's record, or `undefined`. */
  get(id: string): Promise<RunRecord | undefined>;
  /** Resolves once every checkpoint and journal entry queued so far is committed. */
  flush(): Promise<void>;
  /** Flushes and closes the store. Runs still active stop being checkpointed. */
  close(): Promise<void>;
  /** The definition's machine bound to this engine's agents, guards and clock, to embed with `createActor`. */
  machineFor(definition: AnyWorkflowDefinition): AnyStateMachine;
  /** The definitions registered, by id. */
  readonly workflows: ReadonlyMap<string, AnyWorkflowDefinition>;
  /** The runs of this engine that have not ended yet, by id. */
  readonly active: ReadonlyMap<string, WorkflowRun>;
}
