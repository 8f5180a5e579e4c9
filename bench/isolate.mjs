// Runs a timing case with each contender in a fresh Node process of its own, several times, the order alternating, and
// merges what the processes measured. Used by run.mjs for the cases that time Flowstate against raw XState (start,
// step, fan-out, throughput); the child side is bench/case-child.mjs.
//
// Why a process per contender: contenders timed in one process share XState's code and one heap. XState's inline
// caches then see both raw XState's `fromPromise` actors and Flowstate's step actors, and one contender's garbage is
// collected on the other's time; a user's process runs one of them. Measured (eighth session): in one process
// (profile/cpu-ab.mjs, CPU time) Flowstate's step read 1.01-1.13x raw XState's in six runs, either contender first;
// each in processes of its own (this harness, wall time) 0.92-1.10x in short runs and 1.11x in a full run on a
// contended host. The isolation removes a confound; it did not move the ratio by more than the run-to-run noise.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { quantile } from './harness.mjs';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./case-child.mjs', import.meta.url));
// BENCH_NODE_FLAGS='--no-allocation-site-pretenuring' runs every contender's processes with these Node flags (to compare
// V8 modes; bench/findings.md, ninth session). The figures written to docs/ are measured without.
const nodeFlags = process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : [];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return quantile(sorted, 0.5);
};

/**
 * The metrics of case `name` for the contenders `keys`, each contender timed in `processes` fresh processes (one after
 * the other, never two at once; the order of the contenders reversed every other round, so a change in machine load
 * hits each alike). A contender's figure is the median of its processes' medians, its p99 the median of their p99s.
 */
export async function isolated(name, keys, { quick, processes }) {
  const byProcess = [];
  for (let round = 0; round < processes; round++) {
    for (const key of round % 2 === 0 ? keys : [...keys].reverse()) {
      const args = [
        ...nodeFlags,
        '--expose-gc',
        CHILD,
        name,
        key,
        String(processes),
        ...(quick ? ['--quick'] : []),
      ];
      const { stdout } = await run(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });
      byProcess.push(JSON.parse(stdout));
    }
  }
  return merge(byProcess);
}

/** One metric list from the lists of several processes: per metric and contender, the median of their figures. */
function merge(lists) {
  const merged = new Map();
  for (const metrics of lists) {
    for (const metric of metrics) {
      const into = merged.get(metric.id) ?? { ...metric, results: {}, samples: {} };
      for (const [key, result] of Object.entries(metric.results)) {
        into.samples[key] ??= [];
        into.samples[key].push(result);
      }
      merged.set(metric.id, into);
    }
  }
  return [...merged.values()].map(({ samples, ...metric }) => ({
    ...metric,
    results: Object.fromEntries(
      Object.entries(samples).map(([key, results]) => [
        key,
        {
          median: median(results.map((r) => r.median)),
          p99: median(results.map((r) => r.p99)),
          n: results.reduce((sum, r) => sum + r.n, 0),
          processes: results.length,
        },
      ]),
    ),
  }));
}
