import type { AnyActorLogic, AnyStateMachine } from 'xstate';
import type { AnyWorkflowDefinition, StepOptions } from '../model/definition.js';
import { storeResult, update } from './actions.js';
import type { MachineContext, MachineInput } from './context.js';
import type { FailRoute, NodeCompiler, StateConfig, StepInputBase } from './node-compiler.js';
import { resolveRetryPolicy } from './retry.js';
import type { StepActorInput } from './step-types.js';

/** What a step's state needs beyond the node kinds' contract: the machine's actors, where a child workflow's goes. */
export interface StepCompiler extends NodeCompiler {
  readonly actors: Record<string, AnyActorLogic>;
  /** The machine a child workflow runs as (the engine's binding), else the definition's own. */
  readonly childMachine: ((definition: AnyWorkflowDefinition) => AnyStateMachine) | undefined;
}

/**
 * A step's state: its agent invoked as the step actor (`flowstate.step`), or its child workflow invoked as that
 * workflow's machine; the result stored under the step's name, a failure routed by its `onError`.
 */
export function stepState(
  compiler: StepCompiler,
  name: string,
  options: StepOptions,
  next: string,
  fail: FailRoute,
): StateConfig {
  const mapping = options.input === undefined ? undefined : compiler.mapping(options.input);
  const meta = { flowstate: stepMeta('step', name, options) };
  const onError = compiler.onError(options.onError);
  const compensable = options.compensate !== undefined;
  const round = compiler.roundOf();
  if (options.workflow) {
    const child = options.workflow;
    const src = `flowstate.workflow.${child.id}@${child.version}`;
    compiler.actors[src] ??= compiler.childMachine ? compiler.childMachine(child) : child.machine;
    compiler.guards['flowstate.childSucceeded'] ??= ({ event }) => event.output?.status === 'done';
    return {
      meta,
      entry: compiler.learn((l, c) => l.started(c.workflowId, c.pathPrefix + name)),
      invoke: {
        id: name,
        src,
        input: ({ context }: { context: MachineContext }): MachineInput => {
          const rounds = round(context);
          return {
            workflowId: context.workflowId,
            pathPrefix: `${context.pathPrefix}${name}/`,
            input: mapping ? mapping(context) : context.input,
            ...(rounds === undefined ? {} : { rounds }),
          };
        },
        onDone: [
          {
            guard: 'flowstate.childSucceeded',
            target: next,
            actions: [
              update(storeResult(name, compensable, (e) => e.output.output)),
              ...compiler.learn((l, c) =>
                l.finished(c.workflowId, c.pathPrefix + name, undefined, 'workflow'),
              ),
            ],
          },
          compiler.failure(onError, name, next, fail, (e) => e.output?.error),
        ],
        onError: compiler.failure(onError, name, next, fail, (e) => e.error),
      },
    };
  }
  const base = compiler.stepInputBase(options);
  return {
    meta,
    invoke: {
      id: name,
      src: 'flowstate.step',
      // `base` goes last: V8 builds a literal that starts with own keys much faster than one that starts with a
      // spread (1.8 us vs 0.04 us a step, measured); base never holds these three keys.
      input: ({ context }: { context: MachineContext }): StepActorInput => {
        const input: StepActorInput = {
          workflowId: context.workflowId,
          path: context.pathPrefix + name,
          input: mapping ? mapping(context) : context.input,
          ...base,
        };
        const r = round(context);
        return r === undefined ? input : { ...input, round: r };
      },
      onDone: { target: next, actions: update(storeResult(name, compensable, (e) => e.output)) },
      onError: compiler.failure(onError, name, next, fail, (e) => e.error),
    },
  };
}

/** The part of a step actor's input known at compile time. */
export function stepInputBase(options: StepOptions): StepInputBase {
  const escalate = options.escalate;
  return {
    agent: options.agent ?? '',
    ...(options.fallback !== undefined ? { fallback: options.fallback } : {}),
    retry: resolveRetryPolicy(options.retry),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.queue !== undefined ? { queue: options.queue } : {}),
    ...(escalate
      ? {
          escalate: {
            to: escalate.to,
            timeoutMs: escalate.timeoutMs,
            onTimeout: escalate.onTimeout ?? 'fail',
          },
        }
      : {}),
  };
}

function stepMeta(kind: string, name: string, options: StepOptions) {
  return {
    kind,
    name,
    ...(options.agent !== undefined ? { agent: options.agent } : {}),
    ...(options.workflow !== undefined ? { workflow: options.workflow.id } : {}),
    ...(options.expectedMs !== undefined ? { expectedMs: options.expectedMs } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
  };
}
