import { serializeError } from '../model/errors.js';
import { stepOptionsOf, walkNodes } from '../model/walk.js';
import { update } from './actions.js';
import { compensationFailures, type MachineContext } from './context.js';
import type { NodeCompiler, StepInputBase } from './node-compiler.js';
import { ROOT_STATES } from './state-keys.js';
import type { StepActorInput } from './step-types.js';

/** A map item's name (`check[3]`) as its map's name and the item's index; `undefined` for a step's name. */
function mapOf(step: string): { name: string; index: number } | undefined {
  const match = /^(.+)\[(\d+)\]$/.exec(step);
  return match ? { name: match[1] as string, index: Number(match[2]) } : undefined;
}

/**
 * The `__compensating` state: runs the `compensate` agent of each completed step in reverse order of completion
 * (each done item of a `map` on its own, as `name[index]`),
 * one step actor at a time (so compensations get retries and timeouts too), then ends as `compensated`.
 * A compensation that fails is recorded and the others still run; the run then ends `failed` (with the failures on
 * its error's `compensationErrors`): `compensated` says that every change was undone.
 */
export function compensationState(compiler: NodeCompiler): Record<string, unknown> {
  const table = new Map<string, StepInputBase>();
  walkNodes(compiler.spec.nodes, (node, path) => {
    const options = stepOptionsOf(node, path)?.options;
    if (options?.compensate === undefined) return;
    const base = compiler.stepInputBase(options);
    table.set(node.name, {
      retry: base.retry,
      ...(base.timeoutMs ? { timeoutMs: base.timeoutMs } : {}),
      ...(base.queue !== undefined ? { queue: base.queue } : {}),
      agent: options.compensate,
    });
  });
  compiler.guards['flowstate.hasCompensation'] = ({ context }) => context.completed.length > 0;
  compiler.guards['flowstate.compensationFailed'] = ({ context }) => compensationFailures(context).length > 0;
  const baseOf = (step: string) => (table.get(step) ?? table.get(mapOf(step)?.name ?? '')) as StepInputBase;
  /** The output of a completed step, or of a map item (`name[index]`) while its map runs or once it is done. */
  const outputOf = (c: MachineContext, step: string): unknown => {
    const item = mapOf(step);
    if (!item) return c.results[step];
    const running = c.maps[item.name];
    if (running) return running.results[item.index];
    const results = c.results[item.name];
    return Array.isArray(results) ? results[item.index] : undefined;
  };
  const last = (c: MachineContext) => c.completed[c.completed.length - 1] as string;
  const pop = (c: MachineContext) => ({ completed: c.completed.slice(0, -1) });
  return {
    initial: 'next',
    states: {
      next: { always: [{ guard: 'flowstate.hasCompensation', target: 'running' }, { target: 'finished' }] },
      running: {
        invoke: {
          id: 'compensation',
          src: 'flowstate.step',
          input: ({ context }: { context: MachineContext }): StepActorInput => {
            const step = last(context);
            return {
              ...baseOf(step),
              workflowId: context.workflowId,
              path: `${context.pathPrefix}${step}/compensate`,
              input: { step, output: outputOf(context, step), input: context.input, error: context.error },
            };
          },
          onDone: { target: 'next', actions: update(pop) },
          onError: {
            target: 'next',
            actions: update((c, e) => ({
              ...pop(c),
              compensationErrors: [...c.compensationErrors, serializeError(e.error)],
            })),
          },
        },
      },
      finished: { type: 'final' },
    },
    onDone: [
      { guard: 'flowstate.compensationFailed', target: ROOT_STATES.failed },
      { target: ROOT_STATES.compensated },
    ],
  };
}
