/**
 * The shape of a workflow definition: a tree of plain nodes. The builder and the JSON form both produce it;
 * the compiler turns it into an XState machine.
 */
import type { AnyStateMachine } from 'xstate';
import type { ZodType } from 'zod';

/**
 * What guards, mappings and `result` see: the validated workflow input and every finished step's output by name.
 * Plain and JSON-safe. `R` is the results' type: in the builder's mappings, the steps before this one with their
 * results' types (see `WorkflowBuilder.agents`); elsewhere any name, `unknown`.
 * @template I - The workflow's input type.
 * @template R - The results' type, by step name.
 */
export interface WorkflowContext<I = unknown, R = Readonly<Record<string, unknown>>> {
  /** The workflow input, as parsed by the workflow's `input` schema when it has one. */
  readonly input: I;
  /** The outputs of the steps finished so far, by step name (a skipped step's is `null`). */
  readonly results: R;
}

/**
 * A value computed from the workflow context: a function (builder only), a data path such as
 * `results.fetch.rows` or `input.table`, or the name of a mapping registered with the engine.
 */
export type Mapping<I = unknown, T = unknown, R = Readonly<Record<string, unknown>>> =
  | ((ctx: WorkflowContext<I, R>) => T)
  | string;

/**
 * A condition on the workflow context: a function (builder only), a data path whose value is tested for
 * truthiness (`results.triage.critical`), or the name of a guard registered with the engine or the workflow.
 */
export type GuardRef<I = unknown, R = Readonly<Record<string, unknown>>> =
  | ((ctx: WorkflowContext<I, R>) => boolean)
  | string;

/** How a step retries a failed agent call. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 1 */
  attempts: number;
  /** How the delay grows between attempts. @default 'exponential' */
  backoff?: 'exponential' | 'fixed';
  /** The first delay. @default 100 */
  initialMs?: number;
  /** The longest delay. @default 30000 */
  maxMs?: number;
  /** A fraction from 0 to 1: each delay is shortened by up to this share, at random. @default 0.2 */
  jitter?: number;
  /**
   * Retry only errors whose `code` or `name` is in this list. Without it every error is retried except
   * those an agent marks `retryable: false`.
   */
  retryOn?: readonly string[];
}

/** Where a step that ran out of attempts asks for a decision. */
export interface EscalationPolicy {
  /** `'human'` waits for `run.resolveEscalation(...)`; any other value names a supervisor agent. */
  to: 'human' | (string & {});
  /** How long to wait for a decision. */
  timeoutMs: number;
  /** What happens when no decision comes in time. @default 'fail' */
  onTimeout?: 'fail' | 'skip';
}

/** What a failing step does to the workflow. */
export type OnError = 'fail' | 'skip' | 'compensate';

/**
 * Options of one agent step (and of the step a `map` runs per item). `R` is what its `input` mapping sees as
 * `ctx.results` (see {@link WorkflowContext}).
 * @template I - The workflow's input type.
 * @template R - The results of the steps before this one, by name.
 */
export interface StepOptions<I = unknown, R = Readonly<Record<string, unknown>>> {
  /** The registered agent's name. Exactly one of `agent` and `workflow` is given. */
  agent?: string;
  /** Another workflow to run as a child; its result becomes this step's result. */
  workflow?: AnyWorkflowDefinition;
  /** What the agent receives. @default the workflow input */
  input?: Mapping<I, unknown, R>;
  /** How a failed attempt of the agent is retried. @default one attempt, no retry */
  retry?: RetryPolicy;
  /** Per-attempt timeout; the agent's AbortSignal fires when it passes. */
  timeoutMs?: number;
  /**
   * The queue whose workers run this step's agents (primary, fallback, compensation) when the engine has a
   * transport (`createEngine({ transport: bullmqTransport(...) })`); without a transport they run in the engine's
   * process. @default the engine's `defaultQueue`
   */
  queue?: string;
  /** An agent to try once the primary agent ran out of attempts (with the same retry policy). */
  fallback?: string;
  /** An agent that undoes this step, run when the workflow compensates. */
  compensate?: string;
  /** Ask a supervisor agent or a human when every attempt failed. @default false */
  escalate?: false | EscalationPolicy;
  /** A prior for the ETA, until history exists. */
  expectedMs?: number;
  /**
   * What the workflow does once the step has failed for good (attempts, fallback and escalation spent).
   * @default the workflow's `onError`, else 'fail'
   */
  onError?: OnError;
  /** Free text shown by `describe` and in progress. */
  description?: string;
}

/** An agent step. */
export interface StepNode {
  readonly kind: 'step';
  readonly name: string;
  readonly options: StepOptions;
}

/** Regions that run at the same time and join when all are done. */
export interface ParallelNode {
  readonly kind: 'parallel';
  readonly name: string;
  readonly regions: Readonly<Record<string, readonly WorkflowNode[]>>;
  /** Fail the whole parallel step as soon as one region fails. @default true */
  readonly failFast: boolean;
}

/** One guarded arm of a branch. */
export interface BranchArm {
  readonly when: GuardRef;
  readonly nodes: readonly WorkflowNode[];
}

/** Guarded arms, tried in order; `otherwise` runs when none matches. */
export interface BranchNode {
  readonly kind: 'branch';
  readonly name: string;
  readonly arms: readonly BranchArm[];
  readonly otherwise: readonly WorkflowNode[] | undefined;
}

/** One step per item of a list, at most `concurrency` at a time; results in item order. */
export interface MapNode {
  readonly kind: 'map';
  readonly name: string;
  readonly items: Mapping;
  readonly step: StepOptions;
  readonly concurrency: number;
}

/** A bounded cycle: the body runs, then `until` is tested; at most `maxIterations` rounds. */
export interface LoopNode {
  readonly kind: 'loop';
  readonly name: string;
  readonly body: readonly WorkflowNode[];
  readonly until: GuardRef;
  readonly maxIterations: number;
  /** What happens when the bound is hit before `until` holds. @default 'continue' */
  readonly onMaxIterations: 'continue' | 'fail';
}

/** Waits for an event from outside (`run.send`); its payload (the event without `type`) is the result. */
export interface WaitNode {
  readonly kind: 'wait';
  readonly name: string;
  readonly event: string;
  readonly schema: ZodType | undefined;
  readonly timeoutMs: number;
  readonly onTimeout: 'fail' | 'skip';
}

/** Any node of a workflow definition. */
export type WorkflowNode = StepNode | ParallelNode | BranchNode | MapNode | LoopNode | WaitNode;

/**
 * Options of a whole workflow.
 * @template I - The workflow's input type: what the `input` schema gives (zod's output type), as mappings see it.
 * @template O - The workflow's output type.
 * @template In - What the `input` schema accepts (zod's input type: defaults optional, values before a transform);
 * `unknown` when not known, and then `engine.start` takes `I`.
 */
export interface WorkflowOptions<I = unknown, O = unknown, In = unknown> {
  /** Validates the workflow input at start; its parsed value is `ctx.input`. */
  input?: ZodType<I, In>;
  /** Validates the workflow output at the end. */
  output?: ZodType<O>;
  /** The workflow's output. @default ctx.results */
  result?: Mapping<I, O>;
  /** Free text: the definition's `description`, kept in its JSON form and shown by `flowstate describe`. */
  description?: string;
  /** The default `onError` of every step. @default 'fail' */
  onError?: OnError;
  /** Guards this workflow names, in addition to those registered with the engine. */
  guards?: Readonly<Record<string, (ctx: WorkflowContext<I>) => boolean>>;
  /**
   * Data paths of secret inputs, such as `input.password`. Their values never reach a store in clear: every
   * occurrence in a checkpoint (the input, step inputs, results) is sealed with the engine's `secrets` hook, or
   * replaced by `[redacted]` without one.
   */
  secrets?: readonly string[];
}

/** The plain description of a workflow: its id, options and nodes. */
export interface WorkflowSpec {
  readonly id: string;
  readonly options: WorkflowOptions;
  readonly nodes: readonly WorkflowNode[];
}

/**
 * A built workflow: what `workflow(...).build()` and `fromJSON(...)` return, and what `engine.start` runs.
 * `I` is the input type, `O` the output type, `In` what `engine.start` takes.
 * @template I - The workflow's input type, as its `input` schema gives it (what mappings and guards see).
 * @template O - The workflow's output type.
 * @template In - The input `engine.start` takes: the `input` schema's input type, in which a field with a default is
 * optional and a transformed value has its type before the transform. @default I
 */
export interface WorkflowDefinition<I = unknown, O = unknown, In = I> {
  /** The name given to `workflow(id)` (or the JSON's `id`): engines register, start and store runs by it. */
  readonly id: string;
  /** The workflow's `description` option, `undefined` when it has none. */
  readonly description: string | undefined;
  /** The plain tree the machine is compiled from. */
  readonly spec: WorkflowSpec;
  /** A stable hash of the definition: equal definitions have equal versions. */
  readonly version: string;
  /**
   * The compiled XState machine (guards and mappings named by the workflow resolved; agents and
   * engine-registered names are supplied by the engine with `machine.provide`).
   */
  readonly machine: AnyStateMachine;
  /** The JSON form, which `fromJSON` reads back. Throws a `WorkflowDefinitionError` if the definition holds inline functions. */
  toJSON(): WorkflowJSON;
  /** Type carriers only: never set at run time. */
  readonly $types?: { readonly input: I; readonly output: O; readonly startInput: In };
}

/** A definition whose input and output types are not known here. */
// biome-ignore lint/suspicious/noExplicitAny: variance escape hatch so any definition fits
export type AnyWorkflowDefinition = WorkflowDefinition<any, any>;

/** The JSON form of a definition (see `src/dsl/json-schema.ts` for its zod schema). */
export type WorkflowJSON = { readonly id: string; readonly [key: string]: unknown };
