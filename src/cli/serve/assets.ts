/**
 * The page's files, bundled at build time into the package's `dist/bundle/web/` (scripts/bundle-web.mjs): no CDN,
 * the view works with no internet. Served from memory with a content type each.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's files by URL path (`/app.js`), read once. */
export type Assets = ReadonlyMap<string, { readonly body: Uint8Array; readonly type: string }>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/**
 * Reads the page's files from the first `web/` folder found beside the running code: `dist/bundle/web/` for the
 * package (this code runs from `dist/bundle/` or its `chunks/`), or the repository's build when run from source.
 * Throws when none is found (`npm run build` makes it).
 *
 * @example
 * ```ts
 * const assets = loadAssets(); // assets.get('/index.html')
 * ```
 */
export function loadAssets(dir?: string): Assets {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = dir
    ? [dir]
    : [
        join(here, 'web'),
        join(here, '../web'),
        join(here, '../../../dist/bundle/web'),
        join(here, '../../../../bundle/web'),
      ];
  const found = candidates.find((c) => existsSync(join(c, 'index.html')));
  if (!found)
    throw new Error(
      `the web view's files are missing (looked in ${candidates.join(', ')}); run npm run build`,
    );
  const assets = new Map<string, { body: Uint8Array; type: string }>();
  for (const name of readdirSync(found))
    assets.set(`/${name}`, {
      body: readFileSync(join(found, name)),
      type: TYPES[extname(name)] ?? 'application/octet-stream',
    });
  return assets;
}

/** A file of the page; any other path is the page itself (its script routes by `location`). */
export function serveAsset(assets: Assets, path: string): Response {
  const asset = assets.get(path) ?? assets.get('/index.html');
  if (!asset) return new Response('not found', { status: 404 });
  return new Response(asset.body, {
    headers: {
      'content-type': asset.type,
      'cache-control': 'no-cache',
      // The page loads nothing from elsewhere: a strict policy costs nothing.
      'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    },
  });
}
