// Bundles the compiled package (tsc's output in <dist>/src) into <dist>/bundle: one ES module per entry point
// (the package root, `flowstate/json`, `flowstate/db`, `flowstate/store`, `flowstate/testing`, `flowstate/bullmq`, `flowstate/ai`,
// `flowstate/templates`, the CLI) and shared chunks, so every entry runs the same
// single copy of the engine. Dependencies stay external. Why: Node 20's ES module loader costs about 0.5 ms a file,
// and importing the package loaded 76 of them (43 ms of a 68 ms start); see docs/performance.md.
//   node scripts/bundle.mjs [--dist <dir>]   (default: dist)
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
// Chunks are named by hash: without a clean slate, every build would leave the last one's behind (and ship it).
rmSync(join(dist, 'bundle'), { recursive: true, force: true });
await bundle.write({
  dir: join(dist, 'bundle'),
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: 'chunks/[name]-[hash].js',
  sourcemap: true,
});
await bundle.close();
// The web view's page (flowstate serve), into bundle/web.
await bundleWeb(dist);
