// Bundles the web view's page (web/*.ts, with dagre) into <dist>/bundle/web/: app.js, index.html and style.css, so
// `flowstate serve` ships every asset it serves and needs no network. Called by scripts/bundle.mjs after the
// package bundle (which clears <dist>/bundle first).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Writes the page's files into `<dist>/bundle/web`. */
export async function bundleWeb(dist) {
  const out = join(dist, 'bundle/web');
  mkdirSync(out, { recursive: true });
  const bundle = await rolldown({ input: join(root, 'web/app.ts'), platform: 'browser', logLevel: 'warn' });
  await bundle.write({ dir: out, format: 'esm', entryFileNames: 'app.js', minify: true, sourcemap: false });
  await bundle.close();
  for (const file of ['index.html', 'style.css']) copyFileSync(join(root, 'web', file), join(out, file));
}
