import type { Logger } from 'pino';
import { createActor, type NonReducibleUnknown, toPromise } from 'xstate';
import type { AgentContext, AgentFunction, AgentRegistry } from '../model/agent.js';
import type { StepActorInput } from './step-types.js';

/** The context an agent gets for one attempt. */
export function agentContext(
  input: StepActorInput,
  attempt: number,
  signal: AbortSignal,
  logger: Logger,
): AgentContext {
  let child: Logger | undefined;
  return {
    signal,
    attempt,
    workflowId: input.workflowId,
    step: input.path,
    idempotencyKey: `${input.workflowId}:${input.path}:${attempt}`,
    // A pino child costs a few microseconds: made only for agents that log.
    get logger() {
      child ??= logger.child({ workflowId: input.workflowId, step: input.path, attempt });
      return child;
    },
  };
}

/** Calls an agent by name: a function, or actor logic run to completion and stopped when the attempt aborts. */
export async function callAgent(
  agents: AgentRegistry,
  name: string,
  input: unknown,
  ctx: AgentContext,
): Promise<unknown> {
  const agent = Object.hasOwn(agents, name) ? agents[name] : undefined;
  if (agent === undefined) {
    throw Object.assign(
      new Error(
        `No agent named '${name}' is registered: pass it in createEngine({ agents }) and embed engine.machineFor(definition)`,
      ),
      { retryable: false },
    );
  }
  if (typeof agent === 'function') return (agent as AgentFunction)(input, ctx);
  // Actor logic (a machine, fromPromise...): run it to completion; stop it when the attempt is aborted.
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
