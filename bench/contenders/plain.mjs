import {
  gate,
  IN_FLIGHT_HOLD,
  IN_FLIGHT_STEPS,
  INPUT,
  mapItems,
  noop,
  PARK_TIMEOUT_MS,
  regionNames,
  sequenceNames,
} from '../workloads.mjs';

/** The floor: the same work as plain async functions, results kept by step name like the engines do. */
export function plainAsync() {
  const runSequence = async (names, input, results) => {
    for (const name of names) results[name] = await noop(input);
    return results;
  };
  return {
    key: 'plain',
    label: 'plain async',
    sequence(n) {
      const names = sequenceNames(n);
      return { start: () => runSequence(names, INPUT, {}) };
    },
    parallel(regions, steps) {
      const layout = regionNames(regions, steps);
      const run = async () => {
        const results = {};
        await Promise.all(layout.map((r) => runSequence(r.steps, INPUT, results)));
        return results;
      };
      return { start: run };
    },
    map(count, concurrency) {
      const run = async () => {
        const items = mapItems(count);
        const results = new Array(items.length).fill(null);
        let next = 0;
        const worker = async () => {
          while (next < items.length) {
            const i = next++;
            results[i] = await noop(items[i]);
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
        return { items: results };
      };
      return { start: run };
    },
    parked() {
      return {
        start() {
          let resolve;
          const event = new Promise((r) => {
            resolve = r;
          });
          const timer = setTimeout(() => resolve(null), PARK_TIMEOUT_MS);
          const done = (async () => ({ approval: await event }))();
          const release = (payload) => {
            clearTimeout(timer);
            resolve(payload);
          };
          return { done, release };
        },
        release(handle) {
          handle.release({ by: 'bench' });
          return handle.done;
        },
      };
    },
    inflight() {
      const names = sequenceNames(IN_FLIGHT_STEPS);
      return {
        start() {
          const g = gate();
          const run = async () => {
            const results = {};
            for (const [i, name] of names.entries())
              results[name] = i === IN_FLIGHT_HOLD ? await g.opened : await noop(INPUT);
            return results;
          };
          return { done: run(), open: g.open };
        },
        release(handle) {
          handle.open('opened');
          return handle.done;
        },
      };
    },
  };
}
