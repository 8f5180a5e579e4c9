import type { Logger } from 'pino';
import type { AnyActorLogic } from 'xstate';

/**
 * What an agent receives beside its input.
 *
 * Pass it on as it is. The engine's context makes `signal`, `logger` and `report` on first read (getters), so a copy
 * made by spreading keeps `workflowId`, `step`, `attempt` and `idempotencyKey` but not those three. A wrapper that
 * adds data passes it beside the context, or on a context made from it with `Object.create(ctx, ...)` (which keeps
 * every field), rather than in a copy:
 *
 * @example
 * ```ts
 * const traced = (agent: AgentFunction) => (input: unknown, ctx: AgentContext) =>
 *   tracer.span(ctx.idempotencyKey, () => agent(input, ctx)); // not agent(input, { ...ctx, span })
 * ```
 */
export interface AgentContext {
  /** Fires when the attempt times out or the run is cancelled; its `reason` says which. */
  readonly signal: AbortSignal;
  /** The attempt number for this step, from 1, across retries, fallback and escalation rounds. */
  readonly attempt: number;
  /** The run's id. */
  readonly workflowId: string;
  /** The step's path, such as `introspect`, `child/inner` or `check[3]`. */
  readonly step: string;
  /**
   * `workflowId:step:attempt`: the same on a re-run of the same attempt, so effects can be made exactly-once. A step
   * run again in a later loop round has its round in it (`workflowId:step@2:attempt`, `@1.3` in nested loops).
   */
  readonly idempotencyKey: string;
  /** A child of the engine's logger, bound to the run and step. */
  readonly logger: Logger;
  /**
   * Tells the engine what this attempt used (an LLM agent's tokens): summed over the attempt's calls, kept on the
   * attempt in the step's snapshot and shown on its `done` / `attempt-failed` events and in progress. Optional:
   * a context made elsewhere (a BullMQ worker's) may not have it, so call it as `ctx.report?.(...)`.
   */
  readonly report?: (report: AgentReport) => void;
}

/** Token counts of model calls, as {@link AgentContext.report} takes them and step events show them. */
export interface TokenUsage {
  /** Tokens of the prompt (system message, request, schema). */
  readonly inputTokens: number;
  /** Tokens of the answer. */
  readonly outputTokens: number;
  /** Both, as the provider counts them. */
  readonly totalTokens: number;
}

/** What an agent may report about an attempt. */
export interface AgentReport {
  /** Tokens used by one model call (the engine adds up the calls of an attempt). */
  readonly usage?: TokenUsage;
}

/** The sum of two usages (`undefined` when both are). */
export function addUsage(a: TokenUsage | undefined, b: TokenUsage | undefined): TokenUsage | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
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

/** Whether a value can be an agent: a function, or XState actor logic (it has `transition` and an initial snapshot). */
export function isAgent(value: unknown): value is Agent {
  if (typeof value === 'function') return true;
  const logic = value as { transition?: unknown; getInitialSnapshot?: unknown } | null;
  return (
    typeof logic === 'object' &&
    logic !== null &&
    typeof logic.transition === 'function' &&
    typeof logic.getInitialSnapshot === 'function'
  );
}

/** The names of `agents` whose values are no agent (see {@link isAgent}), each with what it is instead. */
export function notAgents(agents: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(agents)
    .filter(([, value]) => !isAgent(value))
    .map(
      ([name, value]) =>
        `'${name}' (${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`,
    );
}

/** A decision on an escalated step: try again, skip it with a value as its result, or abort the step. */
export type EscalationDecision =
  | { readonly action: 'retry' }
  | { readonly action: 'skip'; readonly value?: unknown }
  | { readonly action: 'abort'; readonly reason?: string };
