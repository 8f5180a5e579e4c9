import type { Logger } from 'pino';
import type { AnyActorLogic } from 'xstate';

/** What an agent receives beside its input. */
export interface AgentContext {
  /** Fires when the attempt times out or the run is cancelled; its `reason` says which. */
  readonly signal: AbortSignal;
  /** The attempt number for this step, from 1, across retries, fallback and escalation rounds. */
  readonly attempt: number;
  /** The run's id. */
  readonly workflowId: string;
  /** The step's path, such as `introspect`, `child/inner` or `check[3]`. */
  readonly step: string;
  /** `workflowId:step:attempt`: the same on a re-run of the same attempt, so effects can be made exactly-once. */
  readonly idempotencyKey: string;
  /** A child of the engine's logger, bound to the run and step. */
  readonly logger: Logger;
}

/** An agent as a function: gets the step's input, returns (or resolves to) its JSON-safe output. */
// biome-ignore lint/suspicious/noExplicitAny: agents are registered by name; their input type is the caller's
export type AgentFunction<In = any, Out = unknown> = (input: In, ctx: AgentContext) => Promise<Out> | Out;

/**
 * An agent: a function, or any XState actor logic (a machine, `fromPromise`...), which is started with the step's
 * input and whose output is the step's result.
 */
export type Agent = AgentFunction | AnyActorLogic;

/** Agents by the name steps refer to them with. */
export type AgentRegistry = Readonly<Record<string, Agent>>;

/** A decision on an escalated step: try again, skip it with a value as its result, or abort the step. */
export type EscalationDecision =
  | { readonly action: 'retry' }
  | { readonly action: 'skip'; readonly value?: unknown }
  | { readonly action: 'abort'; readonly reason?: string };
