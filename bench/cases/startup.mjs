import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../harness.mjs';

const child = fileURLToPath(new URL('./startup-child.mjs', import.meta.url));

/** Import to first 1-step workflow done, in fresh child processes (contenders interleaved, first round dropped). */
export async function startupCases({ contenders, settings }) {
  const samples = Object.fromEntries(contenders.map((c) => [c.key, []]));
  for (let i = 0; i <= settings.startup.runs; i++) {
    for (const c of contenders) {
      const out = JSON.parse(execFileSync(process.execPath, [child, c.key], { encoding: 'utf8' }));
      if (i > 0) samples[c.key].push(out);
    }
  }
  const importToDone = {
    id: 'startup',
    title: 'import → first 1-step workflow done',
    unit: 'ms',
    better: 'lower',
    results: {},
  };
  const sinceProcessStart = {
    ...importToDone,
    id: 'startupProcess',
    title: '  same, from process start',
    results: {},
  };
  for (const c of contenders) {
    importToDone.results[c.key] = summarize(samples[c.key].map((s) => s.importToDone));
    sinceProcessStart.results[c.key] = summarize(samples[c.key].map((s) => s.sinceProcessStart));
  }
  return [importToDone, sinceProcessStart];
}
