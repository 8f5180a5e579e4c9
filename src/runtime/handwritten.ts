/**
 * Binds a hand-written XState machine to an engine: the machine the engine runs for it. Invokes whose `src` names a
 * registered agent run through the engine's step actor (agent context, retries, journal, lease gate); any other
 * actor the machine provides runs as is. The machine's root gains what a run needs of a workflow machine: an output
 * in the shape of a {@link WorkflowOutcome}, an end on `flowstate.cancel`, and a failed end when an actor fails
 * without an `onError`. Its states and its persisted snapshots stay the user's own.
 */
import { type AnyActorLogic, type AnyActorRef, type AnyStateMachine, createMachine } from 'xstate';
import { type HandwrittenStepMeta, handwrittenMachineOf, machineStates } from '../dsl/handwritten.js';
import type { MachineInput, WorkflowOutcome } from '../machine/context.js';
import { resolveRetryPolicy } from '../machine/retry.js';
import type { StepActorInput } from '../machine/step-types.js';
import type { AgentRegistry } from '../model/agent.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { ConfigurationError, failureOf, type SerializedError, serializeError } from '../model/errors.js';
import { enterStep, rootOf } from './entries.js';

/** What binding needs from the engine. */
export interface HandwrittenDeps {
  readonly agents: AgentRegistry;
  /** The engine's step actor logic (`createStepLogic`). */
  readonly stepLogic: AnyActorLogic;
}

/** The run's own end states, added under the root (keys a hand-written machine is unlikely to use). */
const CANCELLED = '__flowstate_cancelled';
const FAILED = '__flowstate_failed';

type StepSettings = Omit<StepActorInput, 'workflowId' | 'input'>;
type Config = Record<string, unknown>;
type Args = { context: unknown; event: { type: string; [key: string]: unknown }; self: AnyActorRef };

/**
 * The machine an engine runs for a hand-written machine's definition, or `undefined` for a built definition.
 * Throws a `ConfigurationError` listing every invoke whose `src` is neither an actor the machine provides nor a
 * registered agent, and agent steps whose names collide.
 *
 * @example
 * ```ts
 * const machine = bindHandwritten(machineDefinition(handwritten), { agents, stepLogic });
 * ```
 */
export function bindHandwritten(
  definition: AnyWorkflowDefinition,
  deps: HandwrittenDeps,
): AnyStateMachine | undefined {
  const machine = handwrittenMachineOf(definition);
  if (!machine) return undefined;
  const provided = (machine.implementations as { actors?: Record<string, unknown> }).actors ?? {};
  const isAgent = (src: string) => Object.hasOwn(deps.agents, src);
  const settings = new Map<string, StepSettings>();
  const metas = new Map<string, Record<string, unknown>>();
  const names = new Set<string>();
  /** Every invoke's step name, so a failure names the step rather than XState's generated invoke id. */
  const stepNames = new Map<string, string>();
  const problems: string[] = [];
  for (const state of machineStates(machine)) {
    const base = state.meta?.name ?? state.path;
    for (const invoke of state.invokes) stepNames.set(invoke.id, base);
    const agents = state.invokes.filter((i) => isAgent(i.src));
    for (const invoke of state.invokes) {
      // An inline actor (`src: fromPromise(...)`) gets a generated name XState resolves from the state itself.
      if (
        isAgent(invoke.src) ||
        invoke.src.startsWith('xstate.invoke.') ||
        provided[invoke.src] !== undefined
      )
        continue;
      problems.push(
        `state '${state.path}' invokes '${invoke.src}', which is neither an actor the machine provides (setup({ actors })) nor an agent registered with the engine (createEngine({ agents }))`,
      );
    }
    agents.forEach((invoke, i) => {
      const path = agents.length === 1 ? base : `${base}[${i}]`;
      if (names.has(path) || settings.has(invoke.id)) {
        problems.push(
          `two agent invokes are named '${names.has(path) ? path : invoke.id}': give their states distinct meta.flowstate.name or invoke ids (idempotency keys are made of it)`,
        );
      }
      names.add(path);
      settings.set(invoke.id, stepSettings(path, invoke.src, state.meta, isAgent, problems, state.path));
    });
    if (state.meta || agents.length > 0) {
      // Progress reads `meta.flowstate` as a step of this name: the same name its step actor reports.
      metas.set(state.path, {
        ...(state.meta ?? {}),
        kind: (state.meta as { kind?: unknown } | undefined)?.kind ?? 'step',
        name: base,
        ...(agents[0] ? { agent: agents[0].src } : {}),
      });
    }
  }
  if (problems.length > 0) {
    throw new ConfigurationError(
      `Machine '${machine.id}' cannot run on this engine:\n  - ${problems.join('\n  - ')}`,
    );
  }
  const actors: Record<string, AnyActorLogic> = {};
  for (const s of settings.values()) actors[s.agent] ??= agentLogic(deps.stepLogic, settings);
  return createMachine(
    runConfig(machine.config as Config, metas, stepNames) as never,
    { ...machine.implementations, actors: { ...provided, ...actors } } as never,
  ) as unknown as AnyStateMachine;
}

function stepSettings(
  path: string,
  agent: string,
  meta: HandwrittenStepMeta | undefined,
  isAgent: (name: string) => boolean,
  problems: string[],
  state: string,
): StepSettings {
  const m = meta ?? {};
  for (const [role, name] of [
    ['fallback', m.fallback],
    ['supervisor', m.escalate && m.escalate.to !== 'human' ? m.escalate.to : undefined],
  ] as const) {
    if (name !== undefined && !isAgent(name))
      problems.push(`state '${state}' names ${role} '${name}', which is not a registered agent`);
  }
  return {
    path,
    agent,
    retry: resolveRetryPolicy(m.retry),
    ...(m.timeoutMs !== undefined ? { timeoutMs: m.timeoutMs } : {}),
    ...(m.fallback !== undefined ? { fallback: m.fallback } : {}),
    ...(m.escalate
      ? {
          escalate: {
            to: m.escalate.to,
            timeoutMs: m.escalate.timeoutMs,
            onTimeout: m.escalate.onTimeout ?? 'fail',
          },
        }
      : {}),
  };
}

/**
 * The step actor for one agent name: its input is what the machine's invoke gives, wrapped with the step's settings
 * (found by the invoke's id) and the run id. Built on the step logic by prototype, so its other methods stay its own.
 */
function agentLogic(stepLogic: AnyActorLogic, settings: ReadonlyMap<string, StepSettings>): AnyActorLogic {
  const logic = Object.create(stepLogic) as AnyActorLogic;
  logic.getInitialSnapshot = (scope, input) => {
    const self = scope.self as AnyActorRef;
    const s = settings.get(self.id) ?? {
      path: self.id,
      agent: self.id,
      retry: resolveRetryPolicy(undefined),
    };
    // Each entry of the invoking state keys its attempts afresh; a restored step actor keeps its input (and key).
    const round = enterStep(rootOf(self), s.path);
    const stepInput: StepActorInput = { workflowId: runIdOf(self), input, ...s, ...(round ? { round } : {}) };
    return stepLogic.getInitialSnapshot(scope, stepInput);
  };
  return logic;
}

/**
 * The run id: the `workflowId` of the root actor's input (the engine gives it to new and restored runs alike), else
 * the root actor's id. Read from the actor tree because a hand-written machine's context is the user's.
 */
function runIdOf(self: AnyActorRef): string {
  const actor = rootOf(self);
  const input = (actor as { options?: { input?: MachineInput } }).options?.input;
  return typeof input?.workflowId === 'string' ? input.workflowId : actor.id;
}

/** The machine's config with the run's end states, its outcome as the output, and its steps' meta normalized. */
function runConfig(
  config: Config,
  metas: ReadonlyMap<string, Record<string, unknown>>,
  stepNames: ReadonlyMap<string, string>,
): Config {
  const id = config.id as string;
  const userContext = config.context;
  const userOutput = config.output;
  const own = new Set([`xstate.done.state.${id}.${CANCELLED}`, `xstate.done.state.${id}.${FAILED}`]);
  return {
    ...config,
    // The engine starts every run with `{ workflowId, input }`: the machine's context sees the input alone.
    ...(typeof userContext === 'function'
      ? {
          context: (args: { input?: MachineInput }) =>
            (userContext as (a: unknown) => unknown)({ ...args, input: args.input?.input }),
        }
      : {}),
    states: {
      ...withMeta(config.states as Record<string, Config> | undefined, metas, []),
      [CANCELLED]: {
        type: 'final',
        output: ({ event }: Args): WorkflowOutcome => ({
          status: 'cancelled',
          error: failureOf(
            'CANCELLED',
            typeof event.reason === 'string' ? event.reason : 'The run was cancelled',
          ),
        }),
      },
      [FAILED]: {
        type: 'final',
        output: ({ event }: Args): WorkflowOutcome => ({
          status: 'failed',
          error: failureFrom(event, stepNames),
        }),
      },
    },
    on: {
      'flowstate.cancel': `.${CANCELLED}`,
      // Where no state handles an actor's failure, XState would stop the machine with an error: a failed run instead.
      'xstate.error.actor.*': `.${FAILED}`,
      ...((config.on as Config | undefined) ?? {}),
    },
    output: (args: Args) => {
      if (own.has(args.event.type)) return args.event.output;
      const output =
        typeof userOutput === 'function' ? (userOutput as (a: Args) => unknown)(args) : userOutput;
      return { status: 'done', output } satisfies WorkflowOutcome;
    },
  };
}

function withMeta(
  states: Record<string, Config> | undefined,
  metas: ReadonlyMap<string, Record<string, unknown>>,
  path: readonly string[],
): Record<string, Config> | undefined {
  if (!states) return states;
  const out: Record<string, Config> = {};
  for (const [key, state] of Object.entries(states)) {
    const at = [...path, key];
    const flow = metas.get(at.join('.'));
    const meta = flow ? { ...((state.meta as Config | undefined) ?? {}), flowstate: flow } : state.meta;
    const children = withMeta(state.states as Record<string, Config> | undefined, metas, at);
    out[key] = {
      ...state,
      ...(meta !== undefined ? { meta } : {}),
      ...(children ? { states: children } : {}),
    };
  }
  return out;
}

/** A failure from an actor's error event: a step's failure as it is, any other error as a failed step of its id. */
function failureFrom(event: Args['event'], stepNames: ReadonlyMap<string, string>): SerializedError {
  const error = serializeError(event.error);
  if (error.code !== undefined) return error;
  const actor = event.type.replace(/^xstate\.error\.actor\./, '');
  const step = stepNames.get(actor) ?? actor;
  return failureOf('STEP_FAILED', `Step '${step}' failed: ${error.message}`, {
    stepPath: step,
    cause: error,
  });
}
