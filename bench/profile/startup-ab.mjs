// Import → first 1-step workflow done, in fresh processes: raw XState and Flowstate of two checkouts (a baseline's
// and this one), interleaved round by round so that a shared machine's load hurts all alike. Medians of wall clock
// and of CPU time (user + system, all threads) from import to done; CPU time swings much less under load.
//   npm run build (in both checkouts), then: node bench/profile/startup-ab.mjs <baseline checkout> [rounds]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [baseline, roundsArg = '15'] = process.argv.slice(2);
if (!baseline) throw new Error('usage: node bench/profile/startup-ab.mjs <baseline checkout> [rounds]');
const here = fileURLToPath(new URL('../../', import.meta.url));
// Each checkout's own child script, so that `flowstate` resolves to that checkout's build (self-reference).
const sides = [
  { label: 'raw XState', root: here, contender: 'xstate' },
  { label: 'Flowstate baseline', root: baseline, contender: 'flowstate' },
  { label: 'Flowstate this', root: here, contender: 'flowstate' },
].map((s) => ({ ...s, wall: [], cpu: [] }));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load0 = loadavg()[0];
for (let round = 0; round <= Number(roundsArg); round++) {
  for (const s of sides) {
    const child = join(s.root, 'bench/cases/startup-child.mjs');
    const out = JSON.parse(execFileSync(process.execPath, [child, s.contender], { encoding: 'utf8' }));
    if (round === 0) continue; // the first round warms the disk cache
    s.wall.push(out.importToDone);
    s.cpu.push(out.cpuImportToDone);
  }
}
const [x] = sides;
for (const s of sides) {
  const wall = median(s.wall);
  const cpu = median(s.cpu);
  console.log(
    `${s.label.padEnd(20)} wall ${wall.toFixed(1).padStart(6)} ms (${(wall / median(x.wall)).toFixed(2)}x)  cpu ${cpu.toFixed(1).padStart(6)} ms (${(cpu / median(x.cpu)).toFixed(2)}x)`,
  );
}
console.log(`rounds ${roundsArg}, load ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
