/**
 * Scripted agents: every call waits on a board until the path driver settles it, so outcomes happen in the
 * order a path says, whatever runs concurrently. Calls are matched by step path and agent name.
 */
import { createDefinition } from '../dsl/definition.js';
import type { AgentContext, AgentFunction } from '../model/agent.js';
import type { AnyWorkflowDefinition, StepNode, WorkflowNode } from '../model/definition.js';

/**
 * One agent call waiting for the script.
 *
 * @example
 * ```ts
 * const call = await board.take('scan', 'scan');
 * call.resolve({ critical: true });
 * ```
 */
export interface PendingCall {
  readonly agent: string;
  readonly step: string;
  readonly input: unknown;
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

/**
 * The agent that stands in for a child workflow's work (see {@link stubChildren}).
 *
 * @example
 * ```ts
 * createEngine({ agents: { [CHILD_AGENT]: board.agent(CHILD_AGENT) } });
 * ```
 */
export const CHILD_AGENT = 'flowstateChildStub';
/**
 * The step a stubbed child workflow runs.
 *
 * @example
 * ```ts
 * await board.take(`pay/${CHILD_STEP}`, CHILD_AGENT);
 * ```
 */
export const CHILD_STEP = 'result';

/** How many microtask turns the driver waits for a call or a state before it gives up. */
const TURNS = 500;

/**
 * Lets every promise chain the run started move on (microtasks only: safe under fake timers).
 *
 * @example
 * ```ts
 * run.send({ type: 'approve' });
 * await settle();
 * ```
 */
export async function settle(turns = 40): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/**
 * The calls agents made that the script has not settled yet.
 *
 * @example
 * ```ts
 * const board = new CallBoard();
 * const engine = createEngine({ agents: { scan: board.agent('scan') } });
 * (await board.take('scan', 'scan')).resolve({});
 * ```
 */
export class CallBoard {
  readonly #calls: PendingCall[] = [];

  /** A scripted agent registered under `name`. */
  agent(name: string): AgentFunction {
    return (input: unknown, ctx: AgentContext) =>
      new Promise((resolve, reject) => {
        const call: PendingCall = { agent: name, step: ctx.step, input, resolve, reject };
        this.#calls.push(call);
        // An attempt that times out or is cancelled is over: the script must not settle it later.
        ctx.signal.addEventListener(
          'abort',
          () => {
            this.#drop(call);
            reject(ctx.signal.reason);
          },
          { once: true },
        );
      });
  }

  /** Waits for (and takes) the call of `agent` for `step`; throws if none comes. */
  async take(step: string, agent: string): Promise<PendingCall> {
    for (let i = 0; i < TURNS; i++) {
      const call = this.#calls.find((c) => c.step === step && c.agent === agent);
      if (call) {
        this.#drop(call);
        return call;
      }
      await Promise.resolve();
    }
    const waiting = this.#calls.map((c) => `${c.agent} for ${c.step}`).join(', ') || 'none';
    throw new Error(`No call of agent '${agent}' for step '${step}' came (calls waiting: ${waiting})`);
  }

  /** Fails every call still waiting (at the end of a path). */
  clear(): void {
    for (const call of this.#calls.splice(0)) call.reject(new Error('The path ended'));
  }

  #drop(call: PendingCall): void {
    const i = this.#calls.indexOf(call);
    if (i >= 0) this.#calls.splice(i, 1);
  }
}

/**
 * The definition a path test runs: child workflow steps run a one-step stand-in whose agent is scripted, so a
 * path decides a child's output (or failure) like any step's. The parent's states are unchanged.
 *
 * @example
 * ```ts
 * engine.start(stubChildren(definition), input);
 * ```
 */
export function stubChildren(definition: AnyWorkflowDefinition): AnyWorkflowDefinition {
  let stubbed = stubs.get(definition);
  if (!stubbed) {
    stubbed = withStubs(definition);
    stubs.set(definition, stubbed);
  }
  return stubbed;
}

/** One stubbed definition per definition: every path of it runs the same one (compiled once per engine). */
const stubs = new WeakMap<AnyWorkflowDefinition, AnyWorkflowDefinition>();

function withStubs(definition: AnyWorkflowDefinition): AnyWorkflowDefinition {
  let changed = false;
  const node = (n: WorkflowNode): WorkflowNode => {
    switch (n.kind) {
      case 'step': {
        const child = n.options.workflow;
        if (!child) return n;
        changed = true;
        const stub = createDefinition({
          id: child.id,
          options: { result: `results.${CHILD_STEP}` },
          nodes: [{ kind: 'step', name: CHILD_STEP, options: { agent: CHILD_AGENT } } satisfies StepNode],
        });
        return { ...n, options: { ...n.options, workflow: stub } };
      }
      case 'parallel':
        return {
          ...n,
          regions: Object.fromEntries(Object.entries(n.regions).map(([k, l]) => [k, l.map(node)])),
        };
      case 'branch':
        return {
          ...n,
          arms: n.arms.map((a) => ({ ...a, nodes: a.nodes.map(node) })),
          otherwise: n.otherwise?.map(node),
        };
      case 'loop':
        return { ...n, body: n.body.map(node) };
      default:
        return n;
    }
  };
  const nodes = definition.spec.nodes.map(node);
  return changed ? createDefinition({ ...definition.spec, nodes }) : definition;
}
