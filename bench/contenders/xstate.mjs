import { assign, createActor, enqueueActions, fromPromise, setup, toPromise } from 'xstate';
import {
  gate,
  IN_FLIGHT_HOLD,
  IN_FLIGHT_STEPS,
  INPUT,
  mapItems,
  noop,
  PARK_TIMEOUT_MS,
  RELEASE_EVENT,
  regionNames,
  sequenceNames,
} from '../workloads.mjs';

/**
 * A hand-written XState v5 machine per shape, as a careful user would write it: a state per step invoking a
 * `fromPromise` agent named in `setup({ actors })`, results assigned to context by step name.
 */
const DONE = 'xstate.done.actor.';
const machines = setup({
  actors: { agent: fromPromise(({ input }) => noop(input)), gate: fromPromise(({ input }) => input) },
});

const store = (name, pick = (event) => event.output) =>
  assign({ results: ({ context, event }) => ({ ...context.results, [name]: pick(event) }) });

/** The payload of an outside event: the event without its type. */
const payloadOf = ({ type: _type, ...payload }) => payload;

/** States for a sequence of steps ending in `end` (a sibling state); failures go to `#bench.failed`. */
function sequenceStates(names, end) {
  const states = {};
  names.forEach((name, i) => {
    states[name] = {
      invoke: {
        src: 'agent',
        input: ({ context }) => context.input,
        onDone: { target: names[i + 1] ?? end, actions: store(name) },
        onError: '#bench.failed',
      },
    };
  });
  return states;
}

function root(states, initial) {
  return machines.createMachine({
    id: 'bench',
    context: ({ input }) => ({ input: input.input, results: {} }),
    initial,
    states: { ...states, done: { type: 'final' }, failed: { type: 'final' } },
    output: ({ context }) => context.results,
  });
}

function runner(machine, input = { input: INPUT }) {
  return {
    start() {
      const actor = createActor(machine, { input });
      const done = toPromise(actor);
      actor.start();
      return done;
    },
  };
}

function mapMachine(concurrency) {
  const spawnMore = enqueueActions(({ context, enqueue }) => {
    let { next, running } = context;
    while (running < concurrency && next < context.items.length) {
      enqueue.spawnChild('agent', { id: `item${next}`, input: context.items[next] });
      next++;
      running++;
    }
    enqueue.assign({ next, running });
  });
  const settle = enqueueActions(({ context, event, enqueue }) => {
    const i = Number(event.type.slice(DONE.length + 4));
    const results = context.results.slice();
    results[i] = event.output;
    enqueue.stopChild(`item${i}`);
    enqueue.assign({ results, running: context.running - 1 });
  });
  return machines.createMachine({
    id: 'bench',
    context: ({ input }) => ({
      items: input.items,
      next: 0,
      running: 0,
      results: input.items.map(() => null),
    }),
    initial: 'mapping',
    states: {
      mapping: {
        entry: spawnMore,
        on: { [`${DONE}*`]: { actions: [settle, spawnMore] } },
        always: {
          guard: ({ context }) => context.next >= context.items.length && context.running === 0,
          target: 'done',
        },
      },
      done: { type: 'final' },
    },
    output: ({ context }) => ({ items: context.results }),
  });
}

export function rawXState() {
  return {
    key: 'xstate',
    label: 'raw XState',
    sequence(n) {
      const names = sequenceNames(n);
      return runner(root(sequenceStates(names, 'done'), names[0]));
    },
    parallel(regions, steps) {
      const states = {};
      for (const r of regionNames(regions, steps)) {
        states[r.region] = {
          initial: r.steps[0],
          states: { ...sequenceStates(r.steps, 'end'), end: { type: 'final' } },
        };
      }
      return runner(root({ fan: { type: 'parallel', states, onDone: 'done' } }, 'fan'));
    },
    map(count, concurrency) {
      const machine = mapMachine(concurrency);
      return { start: () => runner(machine, { items: mapItems(count) }).start() };
    },
    parked() {
      const machine = root(
        {
          approval: {
            on: { [RELEASE_EVENT]: { target: 'done', actions: store('approval', payloadOf) } },
            after: { [PARK_TIMEOUT_MS]: 'failed' },
          },
        },
        'approval',
      );
      return {
        start() {
          const actor = createActor(machine, { input: { input: INPUT } });
          const done = toPromise(actor);
          actor.start();
          return { actor, done };
        },
        release(handle) {
          handle.actor.send({ type: RELEASE_EVENT, by: 'bench' });
          return handle.done;
        },
      };
    },
    inflight() {
      const names = sequenceNames(IN_FLIGHT_STEPS);
      const states = sequenceStates(names, 'done');
      // The held step's agent is the run's gate, from its input.
      states[names[IN_FLIGHT_HOLD]].invoke = {
        ...states[names[IN_FLIGHT_HOLD]].invoke,
        src: 'gate',
        input: ({ context }) => context.gate,
      };
      const machine = machines.createMachine({
        id: 'bench',
        context: ({ input }) => ({ input: input.input, gate: input.gate, results: {} }),
        initial: names[0],
        states: { ...states, done: { type: 'final' }, failed: { type: 'final' } },
        output: ({ context }) => context.results,
      });
      return {
        start() {
          const g = gate();
          const actor = createActor(machine, { input: { input: INPUT, gate: g.opened } });
          const done = toPromise(actor);
          actor.start();
          return { done, open: g.open };
        },
        release(handle) {
          handle.open('opened');
          return handle.done;
        },
      };
    },
  };
}
