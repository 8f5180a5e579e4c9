import type { Logger } from 'pino';
import { type AnyActorLogic, createActor, type NonReducibleUnknown, toPromise } from 'xstate';
import {
  type AgentContext,
  type AgentFunction,
  type AgentRegistry,
  type AgentReport,
  addUsage,
  isAgent,
  type TokenUsage,
} from '../model/agent.js';
import type { LazyAbort } from './lazy-abort.js';
import type { StepActorInput } from './step-types.js';
import type { AgentRoute } from './transport.js';

/** The context an agent gets for one attempt. */
export function agentContext(
  input: StepActorInput,
  attempt: number,
  abort: LazyAbort,
  logger: Logger,
): AgentContext & { readonly usage: TokenUsage | undefined } {
  return new AttemptContext(input, attempt, abort, logger);
}

/**
 * An attempt's context as a class: its signal, logger and `report` are made on first read (most agents read none of
 * them; an `AbortController` alone costs more than a tenth of a step), and one shape for every attempt keeps property
 * reads monomorphic. Those three are getters, so a copy made by spreading (`{ ...ctx }`) lacks them; the fields it
 * keeps (the run, step, attempt and idempotency key) are plain own properties (see `AgentContext`). The getters' state
 * is in plain properties too, not `#private` ones, so that a wrapper made with `Object.create(ctx)` or a `Proxy` still
 * reads them: a getter called on such a wrapper gets it as `this`, which has no private fields.
 */
class AttemptContext implements AgentContext {
  readonly workflowId: string;
  readonly step: string;
  /**
   * `workflowId:step:attempt`, computed here rather than on read: a wrapper that spreads the context must not lose
   * the key that makes its effects exactly-once. A first round's key has no round, as keys had before loops were told
   * apart: stored journals stay valid.
   */
  readonly idempotencyKey: string;
  /** The step's per-attempt timeout, for a transport to pass on (not part of `AgentContext`). */
  readonly timeoutMs: number | undefined;
  /** What the agent reported with `ctx.report` (tokens), carried on the attempt's settled event. */
  usage: TokenUsage | undefined;
  private readonly abort: LazyAbort;
  private readonly parentLogger: Logger;
  private child: Logger | undefined;
  private reportTo: ((report: AgentReport) => void) | undefined;

  constructor(
    input: StepActorInput,
    readonly attempt: number,
    abort: LazyAbort,
    parentLogger: Logger,
  ) {
    this.workflowId = input.workflowId;
    this.step = input.path;
    this.idempotencyKey =
      input.round === undefined
        ? `${input.workflowId}:${input.path}:${attempt}`
        : `${input.workflowId}:${input.path}@${input.round}:${attempt}`;
    this.timeoutMs = input.timeoutMs;
    this.usage = undefined;
    this.abort = abort;
    this.parentLogger = parentLogger;
    this.child = undefined;
    this.reportTo = undefined;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  // A pino child costs a few microseconds: made only for agents that log.
  get logger(): Logger {
    this.child ??= this.parentLogger.child({
      workflowId: this.workflowId,
      step: this.step,
      attempt: this.attempt,
    });
    return this.child;
  }

  /**
   * An arrow, as agents pass `ctx.report` around detached from `ctx`; made on first read (a closure on every attempt
   * was about 70 bytes a step, and most agents never report). Usage adds up on the context the engine made, not on
   * an `Object.create(ctx)` wrapper the getter may be called on: the engine reads it there.
   */
  get report(): (report: AgentReport) => void {
    const owner = engineContextOf(this);
    owner.reportTo ??= (report) => {
      if (report.usage) owner.usage = addUsage(owner.usage, report.usage);
    };
    return owner.reportTo;
  }

  /** Agents may log their context: show it as the plain object it stands for. */
  toJSON() {
    return {
      workflowId: this.workflowId,
      step: this.step,
      attempt: this.attempt,
      idempotencyKey: this.idempotencyKey,
    };
  }
}

/**
 * The context the engine made, for a getter called on it or on a wrapper made from it with `Object.create` (the
 * object up its prototype chain whose prototype is the class's). A `Proxy` is its own answer: writes through it reach
 * its target.
 */
function engineContextOf(from: AttemptContext): AttemptContext {
  let at: object = from;
  for (;;) {
    const up = Object.getPrototypeOf(at) as object | null;
    if (up === AttemptContext.prototype) return at as AttemptContext;
    if (up === null) return from;
    at = up;
  }
}

/**
 * Calls an agent by name: a function, or actor logic run to completion and stopped when the attempt aborts. With a
 * `route` (a step on a queue, an engine with a transport) the attempt is handed to the route's transport instead,
 * which runs the agent elsewhere with the same context and brings its output back.
 *
 * Not an `async` function: a function agent's own promise is returned as it is. An `async` wrapper returning it
 * would make a second promise resolved through a thenable job: two more microtasks and, measured, about 750 bytes allocated per step of a 10-step run.
 * A synchronous throw (no agent of that name, an agent that throws before its first `await`) still rejects.
 */
export function callAgent(
  agents: AgentRegistry,
  name: string,
  input: unknown,
  ctx: AgentContext,
  route?: AgentRoute,
): Promise<unknown> {
  try {
    // Promise.resolve returns a native promise as it is, and adopts any other thenable or plain value (a transport
    // or an agent not written in TypeScript may return one).
    if (route)
      return Promise.resolve(route.transport.call(routedAttempt(route, name, input, ctx), ctx.signal));
    const agent = Object.hasOwn(agents, name) ? agents[name] : undefined;
    if (agent === undefined) {
      throw Object.assign(
        new Error(
          `No agent named '${name}' is registered: pass it in createEngine({ agents }) and embed engine.machineFor(definition)`,
        ),
        { retryable: false },
      );
    }
    if (typeof agent === 'function') return Promise.resolve((agent as AgentFunction)(input, ctx));
    // An agent map given to `machineFor` users by hand is not checked by createEngine: no value reaches XState that
    // would throw outside any promise (and end the process).
    if (!isAgent(agent))
      throw Object.assign(new Error(`Agent '${name}' is not a function nor XState actor logic`), {
        retryable: false,
      });
    return runToCompletion(agent, input, ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What a transport is handed for an attempt. */
function routedAttempt(route: AgentRoute, name: string, input: unknown, ctx: AgentContext) {
  const timeoutMs = (ctx as { readonly timeoutMs?: number }).timeoutMs;
  return {
    queue: route.queue,
    agent: name,
    input,
    runId: ctx.workflowId,
    stepPath: ctx.step,
    attempt: ctx.attempt,
    idempotencyKey: ctx.idempotencyKey,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

/** Actor logic as an agent (a machine, fromPromise...): run to completion, stopped when the attempt is aborted. */
async function runToCompletion(agent: AnyActorLogic, input: unknown, ctx: AgentContext): Promise<unknown> {
  const actor = createActor(agent, { input: input as NonReducibleUnknown });
  const onAbort = () => actor.stop();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    actor.start();
    return await toPromise(actor);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
