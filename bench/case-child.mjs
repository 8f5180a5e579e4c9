// One contender's share of an isolated timing case (bench/isolate.mjs), in a fresh process:
//   node --expose-gc bench/case-child.mjs <case> <contender> <processes> [--quick]
// Runs the case with that contender alone, on a budget cut to its share (the whole budget is split across
// `processes` processes), and prints the case's metrics as JSON.
import { fanoutCases } from './cases/fanout.mjs';
import { startCases } from './cases/start.mjs';
import { stepCases } from './cases/step.mjs';
import { throughputCases } from './cases/throughput.mjs';
import { settings } from './config.mjs';
import { contender } from './contenders.mjs';

const CASES = { start: startCases, step: stepCases, fanout: fanoutCases, throughput: throughputCases };
const [name, key, processesArg] = process.argv.slice(2);
const quick = process.argv.includes('--quick');
const processes = Number(processesArg);
if (!CASES[name] || !key || !(processes >= 1))
  throw new Error('usage: case-child.mjs <start|step|fanout|throughput> <contender> <processes> [--quick]');

/**
 * A budget's share for one of `processes` processes: the timed part is split among them; the warm-up is paid in each,
 * at most half a second (thousands of calls of the cheap tasks: the JIT has settled well before).
 */
const share = (budget) => ({
  ...budget,
  warmupTime: Math.min(budget.warmupTime, 500),
  time: budget.time / processes,
  iterations: Math.max(1, Math.ceil(budget.iterations / processes)),
  rounds: 1,
});
const all = settings(quick);
const config = { ...all, timing: share(all.timing), heavy: share(all.heavy), huge: share(all.huge) };
const metrics = await CASES[name]({ contenders: [contender(key)], settings: config });
process.stdout.write(JSON.stringify(metrics));
// Open handles of a contender (an engine's timers) must not keep the process.
process.exit(0);
