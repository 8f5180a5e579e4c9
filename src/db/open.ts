/**
 * Opens the database a URL names: a PostgreSQL server for `postgres://` and `postgresql://`, otherwise PGlite
 * (in memory, or in a directory). This is what the CLI's `--db` takes.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../model/errors.js';
import { pgliteDatabase } from './pglite.js';
import type { Database } from './port.js';
import { postgresDatabase } from './postgres.js';

/**
 * Opens a database from a URL or path:
 * - none, `''`, `memory:` or `memory://`: an in-memory PGlite (the embedded default);
 * - `postgres://...` or `postgresql://...`: a server, through a pool;
 * - `file:///abs/dir`, `pglite:///abs/dir` or a plain path: a PGlite database persisted in that directory.
 *
 * Throws a `ConfigurationError` (code `CONFIGURATION_INVALID`) for a URL that does not parse or whose scheme is
 * neither of these. The server is not contacted here: a wrong host or password fails on the first query.
 *
 * @example
 * ```ts
 * const db = await openDatabase(process.env.DATABASE_URL); // PGlite in memory when unset
 * ```
 */
export async function openDatabase(url?: string): Promise<Database> {
  const target = parseTarget(url);
  if (target.kind === 'postgres') return postgresDatabase(target.url);
  return pgliteDatabase(target.dir);
}

/** Where {@link openDatabase} connects, decided without connecting. */
export type DatabaseTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dir: string | undefined };

/** Decides where a URL points (see {@link openDatabase}); throws a `ConfigurationError` for a bad one. */
export function parseTarget(url?: string): DatabaseTarget {
  const text = url?.trim() ?? '';
  if (text === '' || text === 'memory:' || text === 'memory://') return { kind: 'pglite', dir: undefined };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  // A Windows drive letter (`C:\data`) looks like a scheme: treat one-letter schemes as paths.
  if (scheme === undefined || scheme.length === 1) return { kind: 'pglite', dir: resolve(text) };
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch (cause) {
    throw new ConfigurationError(`Invalid database URL '${redact(text)}': it does not parse as a URL`, {
      cause,
    });
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
      throw new ConfigurationError(`Invalid database URL '${redact(text)}': no host`);
    }
    return { kind: 'postgres', url: text };
  }
  if (scheme === 'file' || scheme === 'pglite') {
    if (parsed.pathname === '' || parsed.pathname === '/') {
      throw new ConfigurationError(`Invalid database URL '${redact(text)}': no directory`);
    }
    const dir = scheme === 'file' ? fileURLToPath(parsed) : decodeURIComponent(parsed.pathname);
    return { kind: 'pglite', dir };
  }
  throw new ConfigurationError(
    `Unsupported database URL scheme '${scheme}:': use postgres://, postgresql://, file://, pglite:// or a directory path`,
  );
}

/** The URL without its password, so an error message never shows a secret. */
function redact(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
