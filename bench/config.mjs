/**
 * Run settings. `full` is what `npm run bench` uses and what docs/performance.md reports; `quick` is the CI smoke
 * check (`node bench/run.mjs --quick`, under a minute): same cases, fewer and shorter repetitions.
 *
 * A budget is per contender: warm-up (time and iterations, both spent), then `time` and at least `iterations`
 * samples, split into `rounds` slices run round-robin with the other contenders.
 */
const budgets = {
  full: {
    timing: { warmupTime: 1_000, warmupIterations: 50, time: 3_000, iterations: 100, rounds: 5 },
    heavy: { warmupTime: 1_000, warmupIterations: 5, time: 3_000, iterations: 20, rounds: 5 },
    huge: { warmupTime: 0, warmupIterations: 1, time: 0, iterations: 6, rounds: 3 },
  },
  quick: {
    timing: { warmupTime: 200, warmupIterations: 20, time: 250, iterations: 10, rounds: 2 },
    heavy: { warmupTime: 150, warmupIterations: 2, time: 150, iterations: 4, rounds: 2 },
    huge: { warmupTime: 0, warmupIterations: 1, time: 0, iterations: 2, rounds: 2 },
  },
};

export function settings(quick) {
  const mode = quick ? 'quick' : 'full';
  return {
    mode,
    ...budgets[mode],
    /** Workflows parked at once for the memory case, and how many times the measure is repeated. */
    memory: { count: 10_000, rounds: quick ? 2 : 7 },
    /**
     * Maps of 10,000 and 100,000 items (issue 17): timed runs per contender, each a fresh process; raw XState's map
     * takes about a minute at concurrency 1,000, so the smoke check leaves it out.
     */
    mapScale: { runs: quick ? 1 : 3, repeat: quick ? 3 : 5, xstate: !quick },
    /**
     * Fresh processes per contender for the timing cases run isolated (start, step, fan-out, throughput; see
     * isolate.mjs): the timed budget is split among them.
     */
    processes: quick ? 2 : 6,
    /** Fresh child processes per contender for the startup case (one more round is run first and dropped). */
    startup: { runs: quick ? 4 : 15 },
    /** Workflows per contender in the progress case (10 samples each; a tenth more are run first as warm-up). */
    progressRuns: quick ? 50 : 500,
    /** The 10,000-in-flight throughput row (issue 8) is too slow for the smoke check. */
    throughput10k: !quick,
    /** Runs parked with passivation, events sent to them, and due timers of passivated runs (issue 17). */
    passivation: quick
      ? { parked: 5_000, events: 100, timers: 200, backoffMs: 3_500 }
      : { parked: 100_000, events: 1_000, timers: 1_000, backoffMs: 6_000 },
    /** The durability case starts a throwaway PostgreSQL server (seconds): full mode, or when a URL is given. */
    postgres: !quick || Boolean(process.env.FLOWSTATE_BENCH_PG_URL),
  };
}
