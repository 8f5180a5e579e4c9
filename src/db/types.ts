/**
 * Value conversions both adapters share, so a row reads the same on PGlite and on a server: `bigint` columns
 * (and `count(*)`) come back as numbers when they fit, `date` columns as `YYYY-MM-DD` strings (no time zone
 * shift), `numeric` as strings (exact), as both drivers already do.
 */

/** PostgreSQL type oids the adapters parse themselves. */
export const OID = { int8: 20, date: 1082 } as const;

/** `bigint` text to a number when it is a safe integer, else kept as text (no silent precision loss). */
export function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** `date` text kept as is: a calendar day has no instant, and a `Date` would shift with the time zone. */
export function parseDate(text: string): string {
  return text;
}
