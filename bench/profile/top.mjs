// Summarizes a V8 .cpuprofile: self and total time by function, mapped back to src/ through dist's source maps,
// and self time by area (Flowstate, xstate, pino, zod, node internals, GC...).
//   node bench/profile/top.mjs /tmp/flowstate-prof/CPU....cpuprofile [rows]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const [file, rowsArg = '30'] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile/top.mjs <file.cpuprofile> [rows]');
const profile = JSON.parse(readFileSync(file, 'utf8'));

const maps = new Map();
function sourceMapOf(url) {
  if (!maps.has(url)) {
    let map = null;
    try {
      const path = fileURLToPath(url);
      if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
    } catch {}
    maps.set(url, map);
  }
  return maps.get(url);
}

/** Where a frame is, as `src/x.ts:line` when a source map knows it, else a short form of its URL. */
function where({ url, lineNumber, columnNumber }) {
  if (!url) return '';
  const map = url.includes('/dist/') && !url.includes('node_modules') ? sourceMapOf(url) : null;
  const entry = map?.findEntry(lineNumber, columnNumber);
  if (entry?.originalSource) {
    const src = entry.originalSource.replace(/^.*?\/src\//, 'src/');
    return `${src}:${entry.originalLine + 1}`;
  }
  const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '');
  return `${short}:${lineNumber + 1}`;
}

function area(frame) {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native/builtin)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  if (url.includes('/dist/')) return 'Flowstate (dist)';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/bench/')) return 'bench harness';
  return url;
}

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame)}`;
const self = new Map();
const total = new Map();
const byFile = new Map();
const byDir = new Map();
const areas = new Map();
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  const k = keyOf(n);
  self.set(k, (self.get(k) ?? 0) + us);
  const a = area(n.callFrame);
  areas.set(a, (areas.get(a) ?? 0) + us);
  // Total: credit this sample once to every distinct function on its stack.
  const seen = new Set();
  const files = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const file = where(nodes.get(at).callFrame).match(/^(src\/[^:]+):/)?.[1];
    if (file) files.add(file);
    const fk = keyOf(nodes.get(at));
    if (seen.has(fk)) continue;
    seen.add(fk);
    total.set(fk, (total.get(fk) ?? 0) + us);
  }
  for (const file of files) byFile.set(file, (byFile.get(file) ?? 0) + us);
  for (const dir of new Set([...files].map((f) => f.slice(0, f.lastIndexOf('/'))))) {
    byDir.set(dir, (byDir.get(dir) ?? 0) + us);
  }
}

const pct = (us) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
const top = (m, rows) => [...m].sort((a, b) => b[1] - a[1]).slice(0, rows);
const rows = Number(rowsArg);
console.log(`profile: ${(totalUs / 1e6).toFixed(2)} s sampled\n\nself time by area:`);
for (const [a, us] of top(areas, 15)) console.log(`  ${pct(us)}  ${a}`);
console.log('\nself time by function:');
for (const [k, us] of top(self, rows)) console.log(`  ${pct(us)}  ${k}`);
console.log('\ntotal (inclusive) time by src/ directory:');
for (const [k, us] of top(byDir, rows)) console.log(`  ${pct(us)}  ${k}/`);
console.log('\ntotal (inclusive) time by src/ file (samples with any frame of the file on the stack):');
for (const [k, us] of top(byFile, rows)) console.log(`  ${pct(us)}  ${k}`);
console.log('\ntotal (inclusive) time, Flowstate functions (src/):');
for (const [k, us] of top(new Map([...total].filter(([k]) => k.includes(' src/'))), rows))
  console.log(`  ${pct(us)}  ${k}`);
console.log('\ntotal (inclusive) time, all functions:');
for (const [k, us] of top(total, rows)) console.log(`  ${pct(us)}  ${k}`);
