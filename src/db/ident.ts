/**
 * Identifier quoting. Values always travel as parameters; identifiers cannot, so the few that must appear in SQL
 * (table and column names read from the catalog) are quoted here and nowhere else.
 */
import { ConfigurationError } from '../model/errors.js';

/** PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1), which could silently name another object. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Quotes one identifier for SQL: `orders` -> `"orders"`, `we"ird` -> `"we""ird"`. Quoting keeps the case and makes
 * any text a single identifier, so it cannot end the name and inject SQL. Rejects an empty name, a NUL byte and a
 * name longer than PostgreSQL keeps. Callers should still check the name against the catalog first, so a typo
 * fails clearly instead of as an SQL error.
 *
 * @example
 * ```ts
 * await db.query(`SELECT count(*) FROM ${quoteIdent(schema)}.${quoteIdent(table)} WHERE id = $1`, [id]);
 * ```
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new ConfigurationError('An SQL identifier cannot be empty');
  if (name.includes('\0')) throw new ConfigurationError('An SQL identifier cannot contain a NUL byte');
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new ConfigurationError(`The SQL identifier '${name.slice(0, 20)}...' is longer than 63 bytes`);
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.name`, each part quoted with {@link quoteIdent}. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
