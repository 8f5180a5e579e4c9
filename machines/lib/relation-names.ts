/**
 * Names for the relations a template proposes (indexes): PostgreSQL keeps tables, views, indexes and sequences of a
 * schema in one namespace, and cuts a name at 63 bytes. A proposed `CREATE INDEX ... IF NOT EXISTS` on a name
 * already taken builds nothing, silently; so each proposal takes a name nothing else has.
 */
import type { Catalog } from './catalog.js';

/** PostgreSQL's longest name, in bytes (NAMEDATALEN - 1). */
const MAX_BYTES = 63;

/**
 * The names a schema's relations take: tables and views, their indexes, the sequences behind their columns.
 *
 * @example
 * ```ts
 * const taken = relationNames(catalog); // then freeName(wanted, taken) for each proposal
 * ```
 */
export function relationNames(catalog: Catalog): Set<string> {
  const taken = new Set<string>();
  for (const t of catalog.tables) {
    taken.add(t.name);
    for (const i of t.indexes) taken.add(i.name);
    for (const c of t.columns)
      if (c.sequence) taken.add(c.sequence.name.slice(c.sequence.name.indexOf('.') + 1));
  }
  return taken;
}

/**
 * `wanted`, else `wanted_2`, `wanted_3`..., each cut to 63 bytes (never inside a character): the first not in
 * `taken`, which it is added to, so that proposals made in one pass do not share a name.
 *
 * @example
 * ```ts
 * freeName('orders_customer_id_idx', new Set(['orders_customer_id_idx'])); // 'orders_customer_id_idx_2'
 * ```
 */
export function freeName(wanted: string, taken: Set<string>): string {
  let name = cutToBytes(wanted, MAX_BYTES);
  for (let n = 2; taken.has(name); n++) {
    const suffix = `_${n}`;
    name = `${cutToBytes(wanted, MAX_BYTES - suffix.length)}${suffix}`;
  }
  taken.add(name);
  return name;
}

function cutToBytes(text: string, bytes: number): string {
  return Buffer.from(text)
    .subarray(0, bytes)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}
