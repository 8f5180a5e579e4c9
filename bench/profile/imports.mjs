// Import cost of the package and of each of its dependencies, each in a fresh process (median of a few runs):
//   node bench/profile/imports.mjs [runs]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../harness.mjs';

const runs = Number(process.argv[2] ?? 7);
// `flowstate` resolves to the built package through its own package.json `exports` (self-reference).
const targets = ['xstate', 'pino', 'zod', 'rxjs', 'pg', 'better-sqlite3', 'flowstate'];
const script = (specifier) =>
  `const t0 = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t0));`;

for (const specifier of targets) {
  const samples = [];
  for (let i = 0; i <= runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script(specifier)], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      encoding: 'utf8',
    });
    if (i > 0) samples.push(Number(out));
  }
  const { median } = summarize(samples);
  console.log(`${median.toFixed(1).padStart(7)} ms  import ${specifier}`);
}
