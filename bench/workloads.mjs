/**
 * The shapes every contender runs, named the same way everywhere, and the no-op agent they all call.
 * A contender turns a shape into `{ start() }`: `start()` returns, synchronously, a promise of the outcome.
 */

/** The no-op agent: an async function that resolves at once (its cost is the floor every contender pays). */
export const noop = async () => null;

/** The input every run gets. */
export const INPUT = Object.freeze({ table: 'orders' });

/** How long a parked workflow would wait before timing out (never reached in the benchmark). */
export const PARK_TIMEOUT_MS = 3_600_000;

/** The event that releases a parked workflow. */
export const RELEASE_EVENT = 'approve';

/** Step names of a sequence of `n` steps. */
export const sequenceNames = (n) => Array.from({ length: n }, (_, i) => `s${i}`);

/** Region names and their step names for `regions` parallel regions of `steps` steps (names are unique). */
export const regionNames = (regions, steps) =>
  Array.from({ length: regions }, (_, r) => ({
    region: `r${r}`,
    steps: Array.from({ length: steps }, (_, i) => `r${r}s${i}`),
  }));

/** The items of a map. */
export const mapItems = (count) => Array.from({ length: count }, (_, i) => i);

/** The in-flight shape: a sequence of `IN_FLIGHT_STEPS` steps whose step `IN_FLIGHT_HOLD` (0-based) waits on a gate. */
export const IN_FLIGHT_STEPS = 10;
export const IN_FLIGHT_HOLD = 5;

/** A gate a run's held step waits on, and the function that opens it. */
export function gate() {
  let open;
  const opened = new Promise((resolve) => {
    open = resolve;
  });
  return { opened, open };
}
