// CPU and garbage-collection time per step of one contender on the 100-step sequence, in this process alone, with the
// count of scavenges and of full (mark-compact and incremental marking) collections:
//   node [--no-allocation-site-pretenuring] bench/profile/gc-mode.mjs <contender> [runs=1000] [steps=100]
// Run it several times per contender, alternating: a process settles in one of two modes. In the slow one V8's
// allocation-site pretenuring has tenured sites on XState's spawn path, and dead step actors' objects, allocated old,
// keep young ones alive through every scavenge until the next full collection (ninth session, bench/findings.md).
import { PerformanceObserver } from 'node:perf_hooks';
import { contender } from '../contenders.mjs';

const [key = 'flowstate', runsArg = '1000', stepsArg = '100'] = process.argv.slice(2);
const [runs, steps] = [Number(runsArg), Number(stepsArg)];
const w = contender(key).sequence(steps);
for (let i = 0; i < 50; i++) await w.start();
let gcMs = 0;
let scavenges = 0;
let full = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
    // kind 1 is a scavenge (minor); 2, 4 and 8 are the full collector's phases (major, incremental, weak callbacks).
    if (entry.detail?.kind === 1) scavenges++;
    else full++;
  }
});
observer.observe({ entryTypes: ['gc'] });
const cpu0 = process.cpuUsage();
for (let i = 0; i < runs; i++) await w.start();
const cpu = process.cpuUsage(cpu0);
await new Promise((resolve) => setTimeout(resolve, 50)); // the observer is told of the last collections later
const perStep = (us) => (us / runs / steps).toFixed(2);
console.log(
  `${key}: ${perStep(cpu.user + cpu.system)} µs CPU a step, of which GC ${perStep(gcMs * 1000)} µs; ${scavenges} scavenges, ${full} full-collection events`,
);
process.exit(0);
