// CPU time (user + system, this process, GC threads included) per step of raw XState and Flowstate, interleaved in
// small blocks in one process, so that a shared machine's load hurts both alike. Wall-clock figures swing 2x on a
// loaded 2-core machine; CPU time much less. Run from a checkout whose build you want to measure:
//   node bench/profile/cpu-ab.mjs [shape=step|start10|throughput|parked] [seconds per contender]
import { contender } from '../contenders.mjs';

const [shape = 'step', secondsArg = '4'] = process.argv.slice(2);
const shapes = {
  step: { make: (c) => c.sequence(100), steps: 100 },
  start10: { make: (c) => c.sequence(10), steps: 10 },
  throughput: {
    make: (c) => {
      const w = c.sequence(10);
      return { start: () => Promise.all(Array.from({ length: 1_000 }, () => w.start())) };
    },
    steps: 10_000,
  },
};
const { make, steps } = shapes[shape];
const sides = ['xstate', 'flowstate'].map((key) => ({ key, w: make(contender(key)), cpu: 0, runs: 0 }));
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
for (const s of sides) for (let i = 0; i < 20; i++) await s.w.start(); // warm-up
const budget = Number(secondsArg) * 1e6;
while (sides.some((s) => s.cpu < budget)) {
  for (const s of sides) {
    const t0 = cpuNow();
    for (let i = 0; i < (shape === 'throughput' ? 1 : 20); i++) await s.w.start();
    s.cpu += cpuNow() - t0;
    s.runs += shape === 'throughput' ? 1 : 20;
  }
}
const per = (s) => s.cpu / s.runs / steps;
const [x, f] = sides;
console.log(
  `${shape}: raw XState ${per(x).toFixed(2)} µs CPU/step, Flowstate ${per(f).toFixed(2)}, ratio ${(per(f) / per(x)).toFixed(3)} (load ${(await import('node:os')).loadavg()[0].toFixed(2)})`,
);
process.exit(0);
