/**
 * Column type checks: integer keys running out of values (a sequence's last value against the column type's
 * maximum, 2^31 - 1 for `integer`), instants stored as `timestamp` without time zone, and money stored in binary
 * floating point. Pure functions of the catalog; no DDL is proposed, since each fix rewrites the table.
 */
import type { Catalog } from '../lib/catalog.js';
import { identifierWords } from '../lib/references.js';
import { tablesOf } from './checks.js';
import type { Finding } from './findings.js';

/** The largest value of each integer type a sequence can feed. */
const TYPE_MAX: Readonly<Record<string, number>> = { smallint: 32_767, integer: 2_147_483_647 };
/** Share of the type's range used from which a key is a warning, and from which it is critical. */
const WARN_AT = 0.5;
const CRITICAL_AT = 0.85;

const MONEY = /(^|_)(amount|price|cost|total|balance|fee|salary|payment|revenue|subtotal|freight|tax)(_|$)/;

/** `UnitPrice`, `unit_price` and `"Unit Price"` all give `unit_price`. */
const snake = (name: string) => identifierWords(name).join('_');

/** Integer keys near overflow, `timestamp` without time zone, money in `real`/`double precision`. */
export function columnTypes(catalog: Catalog): Finding[] {
  const findings: Finding[] = [];
  for (const table of tablesOf(catalog)) {
    for (const column of table.columns) {
      const max = TYPE_MAX[column.type];
      const last = column.sequence?.lastValue;
      if (max !== undefined && last !== null && last !== undefined && last / max >= WARN_AT) {
        const used = last / max;
        findings.push({
          id: `int-key-overflow:${table.name}.${column.name}`,
          kind: 'int-key-overflow',
          severity: used >= CRITICAL_AT ? 'critical' : 'warning',
          table: table.name,
          target: column.name,
          message: `${table.name}.${column.name} is ${column.type} and its sequence ${column.sequence?.name} is at ${last} of ${max} (${(used * 100).toFixed(1)}%): inserts fail once it passes. Move the column (and the columns referencing it) to bigint before then`,
        });
      }
      if (max !== undefined && column.sequence?.readable === false) {
        // Not a finding about the column: the analysis could not look. Said, so a missing warning is not read as
        // a clean bill.
        findings.push({
          id: `int-key-overflow:${table.name}.${column.name}`,
          kind: 'int-key-overflow',
          severity: 'info',
          table: table.name,
          target: column.name,
          message: `${table.name}.${column.name} is ${column.type}, fed by sequence ${column.sequence.name}, which this role cannot read (no SELECT on it): how close it is to overflow is not checked`,
        });
      }
      if (column.type.startsWith('timestamp') && column.type.endsWith('without time zone')) {
        findings.push({
          id: `timestamp-without-time-zone:${table.name}.${column.name}`,
          kind: 'timestamp-without-time-zone',
          severity: 'info',
          table: table.name,
          target: column.name,
          message: `${table.name}.${column.name} is timestamp without time zone: its instants depend on the writer's clock setting. timestamptz stores the instant (the change rewrites the table unless the session TimeZone is UTC)`,
        });
      }
      if (/^(real|double precision)$/.test(column.type) && MONEY.test(snake(column.name))) {
        findings.push({
          id: `float-money:${table.name}.${column.name}`,
          kind: 'float-money',
          severity: 'warning',
          table: table.name,
          target: column.name,
          message: `${table.name}.${column.name} holds money in ${column.type}, binary floating point: 0.1 + 0.2 is not 0.3 there. Use numeric (or integer cents)`,
        });
      }
    }
  }
  return findings;
}
