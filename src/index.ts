/**
 * Flowstate: a workflow engine for coordinating multi-agent tasks, built on XState v5 statecharts.
 * The public API, listed by name.
 */

// Definitions
export {
  type BranchArmInput,
  type LoopOptions,
  type MapItemContext,
  type MapOptions,
  SequenceBuilder,
  type WaitForOptions,
  WorkflowBuilder,
  workflow,
} from './dsl/builder.js';
export { isWorkflowDefinition } from './dsl/definition.js';
export { agentActor, type HandwrittenStepMeta } from './dsl/handwritten.js';
// The JSON form's reader (`fromJSON`, `WorkflowJSONSchema`) is on `flowstate/json`: it loads zod, which running a
// workflow does not need.
// Verification
export {
  assertVerified,
  type VerifyCode,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyReport,
  verify,
  WorkflowVerificationError,
} from './dsl/verify.js';
export type { Clock } from './machine/clock.js';
export { rearmWaits } from './machine/compile-wait.js';
export type { WorkflowOutcome } from './machine/context.js';
export type { StepPhase, StepSnapshot } from './machine/step-types.js';
export type { AgentJob, AgentTransport } from './machine/transport.js';
// Agents
export type {
  Agent,
  AgentContext,
  AgentFunction,
  AgentRegistry,
  AgentReport,
  EscalationDecision,
  TokenUsage,
} from './model/agent.js';
export type {
  AnyWorkflowDefinition,
  EscalationPolicy,
  GuardRef,
  Mapping,
  OnError,
  RetryPolicy,
  StepOptions,
  WorkflowContext,
  WorkflowDefinition,
  WorkflowJSON,
  WorkflowOptions,
} from './model/definition.js';
// Errors
export {
  CancelledError,
  ConfigurationError,
  CorruptRunError,
  type DefinitionProblem,
  DefinitionVersionError,
  type ErrorCode,
  EscalationTimeoutError,
  FlowstateError,
  InputValidationError,
  LeaseLostError,
  OutputValidationError,
  RunIdTakenError,
  RunOwnedError,
  type SerializedError,
  SignalTimeoutError,
  StepFailedError,
  StepTimeoutError,
  StoredFormatError,
  StoreFaultError,
  type ValidationIssue,
  WaitTimeoutError,
  WorkflowDefinitionError,
} from './model/errors.js';
export {
  createNodeInspector,
  type InspectOption,
  type InspectorLike,
  type NodeInspector,
  type NodeInspectorOptions,
} from './observability/inspect.js';
export { createLogger } from './observability/logger.js';
export type { MetricsOptions } from './observability/metrics.js';
export { type StatelyMachineJSON, toStatelyJSON } from './observability/stately-json.js';
export type { TracingOption } from './observability/tracing.js';
export { memoryStore } from './persistence/memory-store.js';
export { postgresStore } from './persistence/postgres-store.js';
export type { SecretsHook } from './persistence/secrets.js';
// Durability
export { sqliteStore } from './persistence/sqlite-store.js';
// The rows a store reads and writes are on `flowstate/store`, for store writers.
export type { RunFilter, RunRecord, WorkflowStore } from './persistence/types.js';
// Progress
export type { StepLogEvent, StepLogEventBase, StepLogEventType } from './progress/events.js';
export {
  type DurationEstimate,
  type DurationHistory,
  type MemoryHistoryOptions,
  memoryHistory,
} from './progress/history.js';
export type {
  Progress,
  ProgressCounts,
  ProgressEta,
  ProgressWaitingOn,
  StepKind,
  StepProgress,
  StepStatus,
  TrackProgressOptions,
} from './progress/progress.js';
export type { Reporter, ReporterStream } from './progress/reporters/format.js';
export { jsonLinesReporter } from './progress/reporters/json-lines.js';
export {
  type TerminalReporter,
  type TerminalReporterOptions,
  terminalReporter,
} from './progress/reporters/terminal.js';
export { trackProgress, trackStepEvents } from './progress/track.js';
// Running
export { createEngine, type Engine, type EngineOptions, type StartOptions } from './runtime/engine.js';
export type {
  MigrationDecision,
  MigrationHook,
  SignalOptions,
  StoredRunForMigration,
} from './runtime/engine-types.js';
export type { PassivateOptions } from './runtime/passivate-options.js';
export { type RunStatus, type WorkflowEvent, WorkflowRun } from './runtime/run.js';
