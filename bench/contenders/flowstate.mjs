import { createEngine, workflow } from 'flowstate';
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
 * Flowstate as users run it: the built package, imported by its own name (resolved through package.json `exports`,
 * so the bench follows the entry point), one engine with logging off (`logger: false`: like raw XState's contender, it
 * writes no log line, and pino is not loaded), no-op async agents.
 */
export function flowstate() {
  const engine = createEngine({
    // The held step of an in-flight run waits on the gate in its run's input, as raw XState's does.
    agents: { noop, gate: (input) => input.gate },
    logger: false,
  });
  const runner = (definition, input = INPUT) => ({ start: () => engine.start(definition, input).result });
  const steps = (b, names) => {
    for (const name of names) b.step(name, { agent: 'noop' });
    return b;
  };
  return {
    key: 'flowstate',
    label: 'Flowstate',
    engine,
    sequence(n) {
      return runner(steps(workflow(`sequence${n}`), sequenceNames(n)).build());
    },
    parallel(regions, stepsPerRegion) {
      const fill = {};
      for (const r of regionNames(regions, stepsPerRegion)) fill[r.region] = (b) => steps(b, r.steps);
      return runner(workflow('fanout').parallel('fan', fill).build());
    },
    map(count, concurrency) {
      const definition = workflow('map')
        .map('items', { items: (ctx) => ctx.input.items, step: { agent: 'noop' }, concurrency })
        .build();
      return { start: () => engine.start(definition, { items: mapItems(count) }).result };
    },
    parked() {
      const definition = workflow('parked')
        .waitFor('approval', { event: RELEASE_EVENT, timeoutMs: PARK_TIMEOUT_MS })
        .build();
      return {
        start: () => engine.start(definition, INPUT),
        release(run) {
          run.send({ type: RELEASE_EVENT, by: 'bench' });
          return run.result;
        },
      };
    },
    inflight() {
      const b = workflow('inflight');
      for (const [i, name] of sequenceNames(IN_FLIGHT_STEPS).entries())
        b.step(name, { agent: i === IN_FLIGHT_HOLD ? 'gate' : 'noop' });
      const definition = b.build();
      return {
        start() {
          const g = gate();
          return { done: engine.start(definition, { ...INPUT, gate: g.opened }).result, open: g.open };
        },
        release(handle) {
          handle.open('opened');
          return handle.done;
        },
      };
    },
  };
}
