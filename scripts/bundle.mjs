// Bundles the compiled package (tsc's output in <dist>/src) into <dist>/bundle: one ES module per entry point
// (the package root, `flowstate/json`, `flowstate/db`, `flowstate/store`, `flowstate/testing`, `flowstate/bullmq`, `flowstate/ai`,
// `flowstate/templates`, the CLI) and shared chunks, so every entry runs the same
// single copy of the engine. Dependencies stay external. Why: Node 20's ES module loader costs about 0.5 ms a file,
// and importing the package loaded 76 of them (43 ms of a 68 ms start); see docs/performance.md.
//   node scripts/bundle.mjs [--dist <dir>]   (default: dist)
import { chmodSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { rolldown } from 'rolldown';
import { bundleWeb } from './bundle-web.mjs';

const at = process.argv.indexOf('--dist');
const dist = resolve(at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : 'dist');

const bundle = await rolldown({
  input: {
    index: join(dist, 'src/index.js'),
    json: join(dist, 'src/json.js'),
    db: join(dist, 'src/db/index.js'),
    store: join(dist, 'src/persistence/index.js'),
    testing: join(dist, 'src/testing/index.js'),
    bullmq: join(dist, 'src/bullmq/index.js'),
    ai: join(dist, 'src/ai/index.js'),
    templates: join(dist, 'machines/templates.js'),
    cli: join(dist, 'src/cli/main.js'),
  },
  platform: 'node',
  // Packages (and node: builtins) are the user's node_modules' business; only our own files are bundled.
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
  // Lazy loading must stay lazy: dynamic imports of packages remain imports.
  logLevel: 'warn',
});
/**
 * Whether a compiled file goes in the engine's chunk: the package root and the layers it is made of, less the JSON
 * form's reader (zod: `flowstate/json`), the other entries, and the errors, which `flowstate/db` needs alone.
 */
function isCore(id) {
  const file = relative(join(dist, 'src'), id).replaceAll('\\', '/');
  if (file.startsWith('..') || isErrors(id)) return false;
  if (file === 'index.js') return true;
  if (file.endsWith('/index.js') || /^dsl\/json(-read|-schema|-guard|-patterns)?\.js$/.test(file))
    return false;
  return /^(model|machine|dsl|runtime|progress|persistence|observability)\//.test(file);
}
/** The errors' file, which every entry needs (`flowstate/db` without the engine). */
function isErrors(id) {
  return relative(join(dist, 'src'), id).replaceAll('\\', '/') === 'model/errors.js';
}
// Chunks are named by hash: without a clean slate, every build would leave the last one's behind (and ship it).
rmSync(join(dist, 'bundle'), { recursive: true, force: true });
await bundle.write({
  dir: join(dist, 'bundle'),
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: 'chunks/[name]-[hash].js',
  sourcemap: true,
  // What the package root loads, in one chunk (and one for the errors): Node's ES module loader has a cost per
  // file (about 1-2 ms each on a loaded machine, measured), and rolldown's automatic splitting gave the root nine.
  codeSplitting: {
    groups: [
      { debugName: 'errors', name: (id) => (isErrors(id) ? 'errors' : null), priority: 2 },
      { debugName: 'engine', name: (id) => (isCore(id) ? 'engine' : null), priority: 1 },
    ],
  },
});
await bundle.close();
// The `flowstate` command: executable, as npm links it from a local path or a git checkout as it is (a registry
// install sets the mode itself).
chmodSync(join(dist, 'bundle/cli.js'), 0o755);
// The web view's page (flowstate serve), into bundle/web.
await bundleWeb(dist);
