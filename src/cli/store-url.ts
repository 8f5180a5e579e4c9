/**
 * `--store <url>` of `flowstate runs`: `sqlite:<path>` or `postgres://...` (also `postgresql://`), else the
 * `FLOWSTATE_STORE` environment variable. A bad URL, or a SQLite file that does not exist (never created by
 * accident), is a {@link UsageError} (exit 2).
 */
import { statSync } from 'node:fs';
import { postgresStore } from '../persistence/postgres-store.js';
import { sqliteStore } from '../persistence/sqlite-store.js';
import type { WorkflowStore } from '../persistence/types.js';
import { UsageError } from './paths-command.js';

/** Where a store lives, as `--store` names it. */
export type StoreTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** The environment variable read when `--store` is not given. */
const STORE_ENV = 'FLOWSTATE_STORE';

/**
 * Parses a store URL. `sqlite:./runs.db`, `sqlite:/var/lib/runs.db` and `sqlite:///var/lib/runs.db` name files;
 * `postgres://user@host/db` and `postgresql://...` name servers. Throws a {@link UsageError} otherwise.
 *
 * @example
 * ```ts
 * parseStoreUrl('sqlite:./flowstate.db'); // { kind: 'sqlite', path: './flowstate.db' }
 * ```
 */
function parseStoreUrl(url: string): StoreTarget {
  const safe = withoutPassword(url);
  const shown = safe.length > 60 ? `${safe.slice(0, 60)}…` : safe;
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '' || path === ':memory:')
      throw new UsageError(`--store: '${shown}' names no file (give sqlite:<path> of an existing store)`);
    return { kind: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--store: '${shown}' is not a valid PostgreSQL URL`);
    }
    if (parsed.hostname === '')
      throw new UsageError(`--store: '${shown}' names no host (postgres://user:password@host:port/database)`);
    return { kind: 'postgres', url };
  }
  throw new UsageError(`--store: expected sqlite:<path> or postgres://..., got '${shown}'`);
}

/**
 * The store URL: `--store`, else `FLOWSTATE_STORE`. A {@link UsageError} when neither is set.
 *
 * @example
 * ```ts
 * const url = storeUrl(values.store); // falls back to process.env.FLOWSTATE_STORE
 * ```
 */
export function storeUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = option ?? env[STORE_ENV];
  if (url === undefined || url === '')
    throw new UsageError(`missing --store <url> (sqlite:<path> or postgres://...; or set ${STORE_ENV})`);
  return url;
}

/**
 * Opens the store a URL names. A SQLite file must exist already: `flowstate runs` never creates an empty store.
 * A PostgreSQL server is only contacted by the first query.
 *
 * @example
 * ```ts
 * const store = openStore('sqlite:./flowstate.db');
 * try { console.log(await store.listRuns()); } finally { await store.close(); }
 * ```
 */
export function openStore(url: string): WorkflowStore {
  const target = parseStoreUrl(url);
  if (target.kind === 'postgres') return postgresStore(target.url);
  let isFile = false;
  try {
    isFile = statSync(target.path).isFile();
  } catch {
    // missing: said below
  }
  if (!isFile)
    throw new UsageError(
      `no store at ${target.path} (a typo? the CLI never makes a store by itself: an empty file is an empty store, 'touch ${target.path}' makes one)`,
    );
  try {
    return sqliteStore(target.path);
  } catch (error) {
    throw new UsageError(`--store: cannot open ${target.path} (${(error as Error).message})`);
  }
}

/**
 * A store URL as it may be printed: its password masked (a message or a hint must not show it).
 *
 * @example
 * ```ts
 * withoutPassword('postgres://app:s3cret@db/flow'); // 'postgres://app:***@db/flow'
 * ```
 */
export function withoutPassword(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
