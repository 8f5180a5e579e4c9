import { type AnyActorRef, assign } from 'xstate';
import type { MapNode } from '../model/definition.js';
import { update } from './actions.js';
import { mapMeta, notAnArray, spawnedItems } from './compile-map-items.js';
import type { MachineContext, MapProgress } from './context.js';
import { isMapSnapshot, type MapActorInput } from './map-types.js';
import type { FailRoute, NodeCompiler } from './node-compiler.js';

/**
 * A `map` as one state invoking the map actor (map-logic.ts), which runs the items itself, at most `concurrency`
 * at a time, and ends with their results in item order. Items are addressed `name[index]`. When the state is left
 * (the map done, failed, or interrupted by a sibling's failure or a cancel), the items it skipped and, with a
 * `compensate` agent, the items it finished are added to the run's `skipped` and `completed` lists, so a failure,
 * of a later item or step too, compensates each finished item.
 */
export function mapState(
  compiler: NodeCompiler,
  node: MapNode,
  next: string,
  fail: FailRoute,
): Record<string, unknown> {
  const { name, concurrency } = node;
  const items = compiler.mapping(node.items);
  const input = node.step.input === undefined ? undefined : compiler.mapping(node.step.input);
  const step = compiler.stepInputBase(node.step);
  const round = compiler.roundOf();
  const onError = compiler.onError(node.step.onError);
  const compensable = node.step.compensate !== undefined;
  const legacy = spawnedItems(compiler, node, next, fail);

  const mapInput = ({ context: c }: { context: MachineContext }): MapActorInput => {
    const list = items(c);
    const path = c.pathPrefix + name;
    const valid = Array.isArray(list);
    const inputs: readonly unknown[] = !valid
      ? []
      : input
        ? list.map((item, index) => input({ ...c, item, index } as MachineContext))
        : list;
    return {
      workflowId: c.workflowId,
      path,
      inputs,
      step: withRound(step, round(c)),
      concurrency,
      skipFailures: onError === 'skip',
      compensable,
      ...(valid ? {} : { invalid: notAnArray(name, path) }),
    };
  };

  /** What the map leaves in the run's lists as its state is left, whichever way. */
  const recordItems = assign(({ context, self }: { context: MachineContext; self: AnyActorRef }) => {
    const children = (self.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children;
    const s = children?.[name]?.getSnapshot();
    if (!isMapSnapshot(s)) return {};
    const { state } = s;
    const label = (i: number) => `${name}[${i}]`;
    const changes: { -readonly [K in keyof MachineContext]?: MachineContext[K] } = {};
    if (state.skipped.length > 0) changes.skipped = [...context.skipped, ...state.skipped.map(label)];
    if (state.completed.length > 0) {
      changes.completed = [...context.completed, ...state.completed.map(label)];
      // The results of the finished items, for their compensations, when the map did not get to store them all.
      if (s.status !== 'done') {
        const left: MapProgress = {
          total: state.input.inputs.length,
          next: state.next,
          running: [],
          results: state.results,
          items: [],
        };
        changes.maps = { ...context.maps, [name]: left };
      }
    }
    return changes;
  });

  return {
    meta: mapMeta(node),
    entry: compiler.learn((l, c) => l.started(c.workflowId, c.pathPrefix + name)),
    // A run an older Flowstate stored mid-map resumes with its spawned items (see `spawnedItems`).
    exit: [legacy.exit, recordItems],
    always: legacy.finished,
    on: legacy.on,
    invoke: {
      id: name,
      src: 'flowstate.map',
      input: mapInput,
      onDone: {
        target: next,
        actions: [
          update((c, e) => ({ results: { ...c.results, [name]: e.output } })),
          ...compiler.learn((l, c) => l.finished(c.workflowId, c.pathPrefix + name)),
        ],
      },
      onError: compiler.failure(onError, name, next, fail, (e) => e.error),
    },
  };
}

/** The items' step options, with the loop round their keys carry when the map runs past a loop's first round. */
function withRound(step: MapActorInput['step'], round: string | undefined): MapActorInput['step'] {
  return round === undefined ? step : { ...step, round };
}
