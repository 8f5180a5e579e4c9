// Runs one workload shape for one contender in a loop, for profiling:
//   node --cpu-prof --cpu-prof-dir=/tmp/flowstate-prof bench/profile/drive.mjs <shape> [contender] [seconds]
// shapes: step (100-step sequence), start10, parallel, map, throughput (1,000 in flight), startOnly, startup
// `startup` imports the package and runs a 1-step workflow once (profile the import itself).
import { contender } from '../contenders.mjs';

const [shape = 'step', key = 'flowstate', secondsArg = '10'] = process.argv.slice(2);

const shapes = {
  step: (c) => c.sequence(100),
  start10: (c) => c.sequence(10),
  startOnly: (c) => c.sequence(10),
  parallel: (c) => c.parallel(8, 5),
  map: (c) => c.map(1_000, 50),
  throughput: (c) => {
    const w = c.sequence(10);
    return { start: () => Promise.all(Array.from({ length: 1_000 }, () => w.start())) };
  },
};
if (!shapes[shape]) throw new Error(`unknown shape '${shape}'; known: ${Object.keys(shapes).join(', ')}`);

const w = shapes[shape](contender(key));
const end = performance.now() + Number(secondsArg) * 1000;
let runs = 0;
while (performance.now() < end) {
  await w.start();
  runs++;
}
console.log(`${key} ${shape}: ${runs} runs in ${secondsArg} s`);
