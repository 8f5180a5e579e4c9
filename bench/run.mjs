// The benchmark suite: `npm run bench` (full, writes docs/performance.md) or `node bench/run.mjs --quick` (CI smoke
// check, under a minute, writes nothing unless --write). `--only=step,memory` runs some cases; `--no-write` skips the doc.
import { fileURLToPath } from 'node:url';
import { durabilityCases } from './cases/durability.mjs';
import { fanoutCases } from './cases/fanout.mjs';
import { mapScaleCases } from './cases/map-scale.mjs';
import { memoryCases } from './cases/memory.mjs';
import { passivationCases } from './cases/passivation.mjs';
import { progressCases } from './cases/progress.mjs';
import { startCases } from './cases/start.mjs';
import { startupCases } from './cases/startup.mjs';
import { stepCases } from './cases/step.mjs';
import { throughputCases } from './cases/throughput.mjs';
import { settings } from './config.mjs';
import { CONTENDERS, contenders } from './contenders.mjs';
import { writeDocument } from './document.mjs';
import { environment, loadAverage } from './environment.mjs';
import { isolated } from './isolate.mjs';
import { HEADER, rows, targetRows, textTable } from './report.mjs';
import { judge } from './targets.mjs';

/** The timing cases run with each contender in processes of its own (isolate.mjs says why). */
const ISOLATED = new Set(['start', 'step', 'fanout', 'throughput']);

const CASES = {
  start: startCases,
  step: stepCases,
  fanout: fanoutCases,
  mapscale: mapScaleCases,
  throughput: throughputCases,
  memory: memoryCases,
  startup: startupCases,
  progress: progressCases,
  durability: durabilityCases,
  passivation: passivationCases,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only =
  args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',') ?? Object.keys(CASES);
const unknown = only.filter((name) => !CASES[name]);
if (unknown.length > 0)
  throw new Error(`unknown case(s) ${unknown.join(', ')}; known: ${Object.keys(CASES).join(', ')}`);
const write =
  args.includes('--write') ||
  (!quick && !args.includes('--no-write') && only.length === Object.keys(CASES).length);

const config = settings(quick);
const env = environment();
const began = performance.now();
console.log(`flowstate bench (${config.mode}) on ${env.cpu}, ${env.cores} cores, Node ${env.node}`);
if (typeof globalThis.gc !== 'function')
  console.log('(no --expose-gc: timings run without a GC between tasks)');
if (env.load > env.cores / 2) {
  console.log(
    `warning: load average ${env.load} on ${env.cores} cores: other work shares the machine, figures will be noisy`,
  );
}

const ctx = { contenders: contenders(), settings: config };
const metrics = [];
for (const name of only) {
  const t0 = performance.now();
  const measured = ISOLATED.has(name)
    ? await isolated(name, CONTENDERS, { quick, processes: config.processes })
    : await CASES[name](ctx);
  metrics.push(...measured);
  console.log(`  ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const seconds = (performance.now() - began) / 1000;
env.loadAfter = loadAverage();
const verdicts = judge(metrics);
console.log(`\n${textTable(HEADER, rows(metrics))}\n`);
console.log(textTable(['from', 'target', 'measured (Flowstate)', 'status'], targetRows(verdicts)));
console.log(
  `\n${config.mode} run: ${seconds.toFixed(1)} s, load average ${env.load} before, ${env.loadAfter} after`,
);
if (write) {
  const path = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
  writeDocument(path, { env, mode: config.mode, metrics, verdicts, seconds });
  console.log(`wrote ${path}`);
}
