import type { AnyEventObject } from 'xstate';
import type { MapNode } from '../model/definition.js';
import { failureOf, type SerializedError } from '../model/errors.js';
import { dynamic, update } from './actions.js';
import type { MachineContext, MapProgress } from './context.js';
import type { FailRoute, NodeCompiler } from './node-compiler.js';
import type { StepActorInput } from './step-types.js';

const DONE = 'xstate.done.actor.';
const ERROR = 'xstate.error.actor.';

/**
 * A `map` as one state that spawns a step actor per item (at most `concurrency` alive): the form the test-path
 * model walks, item by item, with each item's outcome an event of the machine (a run uses the map actor instead,
 * compile-map.ts, whose cost does not grow with the concurrency). Stores results in item order, stops each finished
 * child (finished spawned children would otherwise stay in the snapshot) and moves on when every item is done.
 * Children are addressed `name[index]`. With a `compensate` agent, each item that is done is recorded as completed
 * (`name[index]`), so a failure, of a later item too, compensates it.
 */
export function mapItemsState(
  compiler: NodeCompiler,
  node: MapNode,
  next: string,
  fail: FailRoute,
): Record<string, unknown> {
  const { name } = node;
  const spawned = spawnedItems(compiler, node, next, fail);
  return {
    meta: mapMeta(node),
    entry: [...spawned.entry, ...compiler.learn((l, c) => l.started(c.workflowId, c.pathPrefix + name))],
    exit: spawned.exit,
    always: [spawned.invalid, spawned.finished],
    on: spawned.on,
  };
}

/** The `meta` of a map's state, either form: what progress and the ETA read (kind, name, agent, expected time). */
export function mapMeta(node: MapNode): { readonly flowstate: Record<string, unknown> } {
  return {
    flowstate: {
      kind: 'map',
      name: node.name,
      concurrency: node.concurrency,
      ...(node.step.agent !== undefined ? { agent: node.step.agent } : {}),
      ...(node.step.expectedMs !== undefined ? { expectedMs: node.step.expectedMs } : {}),
    },
  };
}

/** The failure of a map whose items are not an array, either form. */
export function notAnArray(name: string, stepPath: string): SerializedError {
  return failureOf('STEP_FAILED', `Map '${name}' expected its items to be an array`, { stepPath });
}

/** The parts of a map state whose items are spawned step actors, each item's end an event of the machine. */
interface SpawnedItems {
  /** Evaluates the items into `context.maps[name]` and spawns the first ones. */
  readonly entry: readonly unknown[];
  /** Stops the items still running. */
  readonly exit: unknown;
  /** Fails the map when its items are not an array (guarded). */
  readonly invalid: Record<string, unknown>;
  /** Moves on with the results once every item ended (guarded). */
  readonly finished: Record<string, unknown>;
  /** Settles an item (done, or failed) and spawns the next. */
  readonly on: Record<string, unknown>;
}

/**
 * The spawned-items form's parts. The map actor's state takes `on`, `finished` and `exit` too, so a run stored mid-map
 * by an older Flowstate (a step actor per item, `context.maps[name]` holding the items) resumes and finishes: its
 * items' events still find their handlers, and a fresh map (no `context.maps[name]`) never matches them.
 */
export function spawnedItems(
  compiler: NodeCompiler,
  node: MapNode,
  next: string,
  fail: FailRoute,
): SpawnedItems {
  const { name, concurrency } = node;
  const items = compiler.mapping(node.items);
  const input = node.step.input === undefined ? undefined : compiler.mapping(node.step.input);
  const base = compiler.stepInputBase(node.step);
  const round = compiler.roundOf();
  const onError = compiler.onError(node.step.onError);
  const childId = (i: number) => `${name}[${i}]`;
  const ownIndex = (event: AnyEventObject, prefix: string): number | undefined => {
    if (!event.type.startsWith(prefix + name, 0) || event.type[prefix.length + name.length] !== '[')
      return undefined;
    return Number(event.type.slice(prefix.length + name.length + 1, -1));
  };
  const progress = (c: MachineContext) => c.maps[name] as MapProgress;
  const itemInput = (c: MachineContext, i: number): StepActorInput => {
    const item = progress(c).items[i];
    // `base` last, as in compile.ts: much faster to build, same object.
    const stepInput: StepActorInput = {
      workflowId: c.workflowId,
      path: `${c.pathPrefix}${childId(i)}`,
      input: input ? input({ ...c, item, index: i } as MachineContext) : item,
      ...base,
    };
    const r = round(c);
    return r === undefined ? stepInput : { ...stepInput, round: r };
  };
  const spawnMore = dynamic(({ context, enqueue: q }) => {
    const m = progress(context);
    let nextIndex = m.next;
    const running = [...m.running];
    while (running.length < concurrency && nextIndex < m.total) {
      q.spawnChild('flowstate.step', { id: childId(nextIndex), input: itemInput(context, nextIndex) });
      running.push(nextIndex);
      nextIndex++;
    }
    q.assign({ maps: { ...context.maps, [name]: { ...m, next: nextIndex, running } } });
  });
  const compensable = node.step.compensate !== undefined;
  const settle = (skipped: boolean) =>
    dynamic(({ context, event, enqueue: q }) => {
      const i = ownIndex(event, skipped ? ERROR : DONE) as number;
      const m = progress(context);
      const results = [...m.results];
      results[i] = skipped ? null : event.output;
      q.stopChild(childId(i));
      q.assign({
        maps: { ...context.maps, [name]: { ...m, results, running: m.running.filter((r) => r !== i) } },
        ...(skipped ? { skipped: [...context.skipped, childId(i)] } : {}),
        // Each item is compensated on its own, as soon as it is done: a later item's failure undoes it too.
        ...(!skipped && compensable ? { completed: [...context.completed, childId(i)] } : {}),
      });
    });
  const stopRunning = dynamic(({ context, enqueue }) => {
    for (const i of context.maps[name]?.running ?? []) enqueue.stopChild(childId(i));
  });

  const own = `${name}.ownChildDone`;
  const ownError = `${name}.ownChildFailed`;
  const invalid = `${name}.invalidItems`;
  const finished = `${name}.finished`;
  compiler.guards[own] = ({ event }) => ownIndex(event, DONE) !== undefined;
  compiler.guards[ownError] = ({ event }) => ownIndex(event, ERROR) !== undefined;
  compiler.guards[invalid] = ({ context }) => !Array.isArray(context.maps[name]?.items);
  compiler.guards[finished] = ({ context }) => {
    const m = context.maps[name];
    return m !== undefined && m.next >= m.total && m.running.length === 0;
  };
  const invalidItems = (_e: AnyEventObject, c: MachineContext) => notAnArray(name, c.pathPrefix + name);
  const withoutProgress = (c: MachineContext) => {
    const { [name]: _done, ...maps } = c.maps;
    return maps;
  };

  return {
    entry: [
      update((c) => {
        const list = items(c);
        const valid = Array.isArray(list);
        const m = {
          total: valid ? list.length : 0,
          next: 0,
          running: [],
          results: valid ? list.map(() => null) : [],
          items: valid ? list : null,
        };
        return { maps: { ...c.maps, [name]: m as unknown as MapProgress } };
      }),
      spawnMore,
    ],
    exit: stopRunning,
    invalid: { guard: invalid, ...compiler.failure(onError, name, next, fail, invalidItems) },
    finished: {
      guard: finished,
      target: next,
      actions: [
        update((c) => ({
          results: { ...c.results, [name]: progress(c).results },
          maps: withoutProgress(c),
        })),
        ...compiler.learn((l, c) => l.finished(c.workflowId, c.pathPrefix + name)),
      ],
    },
    on: {
      [`${DONE}*`]: { guard: own, actions: [settle(false), spawnMore] },
      [`${ERROR}*`]:
        onError === 'skip'
          ? { guard: ownError, actions: [settle(true), spawnMore] }
          : { guard: ownError, ...compiler.failure(onError, name, next, fail, (e) => e.error) },
    },
  };
}
