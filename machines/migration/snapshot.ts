/**
 * A schema's shape as the migration compares it: tables with their columns, constraints and indexes, and views;
 * privileges, row-level security and policies, sequences, enum types and domains (`snapshot-security.ts`,
 * `snapshot-sequences.ts`, `snapshot-enums.ts`, `snapshot-domains.ts`, compared in `snapshot-facts.ts`). Two snapshots
 * are equal when the schema is the same; column order, sizes and statistics are left out because they change without
 * the schema changing (a column re-added by a revert comes last, and that is fine), and so is a sequence moved
 * forward.
 */
import type { Database } from '../../src/db/index.js';
import { readDomains } from './snapshot-domains.js';
import { readEnums } from './snapshot-enums.js';
import { objectFacts } from './snapshot-facts.js';
import { COLUMNS, CONSTRAINTS, INDEXES, RELATIONS } from './snapshot-queries.js';
import { type Snapshot, SnapshotSchema } from './snapshot-schema.js';
import { readSecurity } from './snapshot-security.js';
import { identityText, readSequences, sequencesBehind } from './snapshot-sequences.js';

export { type Snapshot, SnapshotSchema, type SnapshotTable } from './snapshot-schema.js';

type Row = Record<string, unknown> & { table: string };

/** Reads the shape of `schema` (inside a transaction, it sees that transaction's changes). */
export async function takeSnapshot(db: Database, schema: string): Promise<Snapshot> {
  // One after the other: on a transaction there is one connection, and PGlite has only one anyway.
  const relations = await db.query<Record<string, unknown>>(RELATIONS, [schema]);
  const columns = await db.query<Row>(COLUMNS, [schema]);
  const constraints = await db.query<Row>(CONSTRAINTS, [schema]);
  const indexes = await db.query<Row>(INDEXES, [schema]);
  const security = await readSecurity(db, schema);
  const sequences = await readSequences(db, schema);
  const enums = await readEnums(db, schema);
  const domains = await readDomains(db, schema);
  const grantsOf = (name: unknown) => security.grants.get(String(name)) ?? [];
  const of = (rows: Row[], table: unknown) =>
    rows.filter((r) => r.table === table).map(({ table: _, ...rest }) => rest);
  const isView = (r: Record<string, unknown>) => r.kind === 'v' || r.kind === 'm';
  return SnapshotSchema.parse({
    schema,
    tables: relations.rows
      .filter((r) => !isView(r))
      .map((r) => ({
        name: r.name,
        estimatedRows: r.estimatedRows,
        primaryKey: r.primaryKey,
        // A json column: node-postgres and PGlite parse it; a driver that does not gives its text.
        columns: of(columns.rows, r.name).map(({ identitySequence: q, ...c }) => ({
          ...c,
          identitySequence: typeof q === 'string' ? JSON.parse(q) : (q ?? null),
        })),
        constraints: of(constraints.rows, r.name),
        indexes: of(indexes.rows, r.name),
        // A json column: node-postgres and PGlite parse it; a driver that does not gives its text.
        partitionOf: typeof r.partitionOf === 'string' ? JSON.parse(r.partitionOf) : r.partitionOf,
        partitionKey: r.partitionKey ?? null,
        inherits: r.inherits,
        triggers: r.triggers,
        triggerDefinitions: ((r.triggerDefinitions as unknown[]) ?? [])
          .map((d) => (typeof d === 'string' ? JSON.parse(d) : d) as { name: string })
          .sort((x, y) => x.name.localeCompare(y.name)),
        grants: grantsOf(r.name),
        rowSecurity: typeof r.rowSecurity === 'string' ? JSON.parse(r.rowSecurity) : r.rowSecurity,
        policies: security.policies.get(String(r.name)) ?? [],
      })),
    views: relations.rows.filter(isView).map((r) => ({
      name: r.name,
      materialized: r.kind === 'm',
      definition: r.definition,
      grants: grantsOf(r.name),
    })),
    sequences: sequences.map((q) => ({ ...q, grants: grantsOf(q.name) })),
    enums,
    domains,
    schemaGrants: security.schemaGrants,
  });
}

/** The part of a snapshot that `scope` names (all of it when `scope` is undefined). */
export function scoped(snapshot: Snapshot, scope: readonly string[] | undefined): Snapshot {
  if (scope === undefined) return snapshot;
  const keep = new Set(scope);
  const { sequences, enums, domains, schemaGrants, ...rest } = snapshot;
  return {
    ...rest,
    tables: snapshot.tables.filter((t) => keep.has(t.name)),
    views: snapshot.views.filter((v) => keep.has(v.name)),
    ...(sequences ? { sequences: sequences.filter((q) => keep.has(q.name)) } : {}),
    ...(enums ? { enums: enums.filter((e) => keep.has(e.name)) } : {}),
    ...(domains ? { domains: domains.filter((d) => keep.has(d.name)) } : {}),
    // The schema's own privileges are in scope as '' (no relation has an empty name).
    ...(schemaGrants && keep.has('') ? { schemaGrants } : {}),
  };
}

/** Everything compared, by object (`column orders.total`): equal snapshots give equal maps. */
function facts(
  snapshot: Snapshot,
  partitions: boolean,
  attachments: boolean,
  trees: boolean,
  triggers: boolean,
  identities: boolean,
): Map<string, { relation: string; value: string }> {
  const out = new Map<string, { relation: string; value: string }>();
  const set = (relation: string, key: string, value: string) => out.set(key, { relation, value });
  for (const t of snapshot.tables) {
    set(t.name, `table ${t.name}`, 'exists');
    // A parent in another schema is left out: the dry run's copy does not copy it (its partition is a plain table
    // there), and a migration may not touch it.
    if (partitions && t.partitionOf && t.partitionOf.schema === null) {
      const { name, bound } = t.partitionOf;
      set(t.name, `partition ${t.name}`, `of ${name} ${bound}`);
    }
    // How a table is partitioned, and what it inherits, when both snapshots recorded it.
    if (trees && t.partitionKey) set(t.name, `partitioned ${t.name}`, t.partitionKey);
    if (trees && t.inherits?.length) set(t.name, `inherits ${t.name}`, t.inherits.join(', '));
    for (const { name, inherited: _, identitySequence, ...rest } of t.columns) {
      set(t.name, `column ${t.name}.${name}`, JSON.stringify(rest));
      // An identity's sequence options, when both snapshots recorded them.
      if (identities && identitySequence)
        set(t.name, `identity ${t.name}.${name}`, identityText(identitySequence));
    }
    for (const k of t.constraints) set(t.name, `constraint ${t.name}.${k.name}`, k.definition);
    if (triggers)
      for (const d of t.triggerDefinitions ?? [])
        set(t.name, `${d.kind} ${t.name}.${d.name}`, JSON.stringify([d.definition, d.enabled]));
    for (const i of t.indexes) {
      // An index on a partitioned table made again but not attached to its partitions' is left invalid: compared.
      const attached = attachments && i.parentIndex ? ` (attached to ${i.parentIndex})` : '';
      set(t.name, `index ${t.name}.${i.name}`, `${i.definition}${attached}`);
    }
  }
  for (const v of snapshot.views)
    set(v.name, `view ${v.name}`, JSON.stringify([v.materialized, v.definition]));
  return out;
}

/** One difference between two snapshots. */
export interface SnapshotDifference {
  /** The object, such as `column orders.total`. */
  readonly object: string;
  /** The table or view it belongs to. */
  readonly relation: string;
  readonly expected: string | null;
  readonly actual: string | null;
}

/** What differs from `expected` in `actual` (empty when they describe the same schema). */
export function compareSnapshots(expected: Snapshot, actual: Snapshot): SnapshotDifference[] {
  // Partitions are compared when both snapshots recorded them (one stored by an earlier version did not).
  const partitions = [expected, actual].every((s) => s.tables.every((t) => t.partitionOf !== undefined));
  const attachments = [expected, actual].every((s) =>
    s.tables.every((t) => t.indexes.every((i) => i.parentIndex !== undefined)),
  );
  const trees = [expected, actual].every((s) =>
    s.tables.every((t) => t.partitionKey !== undefined && t.inherits !== undefined),
  );
  const triggers = [expected, actual].every((s) => s.tables.every((t) => t.triggerDefinitions !== undefined));
  const identities = [expected, actual].every((s) =>
    s.tables.every((t) => t.columns.every((c) => c.identitySequence !== undefined)),
  );
  const a = facts(expected, partitions, attachments, trees, triggers, identities);
  const b = facts(actual, partitions, attachments, trees, triggers, identities);
  // Privileges, policies, sequences, enums and domains, each family when both snapshots recorded it.
  objectFacts(
    expected,
    actual,
    (relation, key, value) => a.set(key, { relation, value }),
    (relation, key, value) => b.set(key, { relation, value }),
  );
  const differences: SnapshotDifference[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const left = a.get(key);
    const right = b.get(key);
    if (left?.value !== right?.value) {
      const relation = (left ?? right)?.relation as string;
      differences.push({
        object: key,
        relation,
        expected: left?.value ?? null,
        actual: right?.value ?? null,
      });
    }
  }
  if (expected.sequences && actual.sequences)
    differences.push(...sequencesBehind(expected.sequences, actual.sequences));
  return differences.sort((x, y) => x.object.localeCompare(y.object));
}

/** The names of the tables and views that differ between two snapshots. */
export function changedRelations(before: Snapshot, after: Snapshot): string[] {
  return [...new Set(compareSnapshots(before, after).map((d) => d.relation))].sort();
}

/** A one-line summary of a difference, for messages. */
export function describeDifference(d: SnapshotDifference): string {
  if (d.expected === null) return `${d.object} is unexpected`;
  if (d.actual === null) return `${d.object} is missing`;
  return `${d.object} differs (expected ${d.expected}, got ${d.actual})`;
}

/**
 * `names` with the partitions and inheritance children of those tables in `snapshot`, transitively, sorted: what a
 * statement on a parent reaches.
 */
export function withDescendants(snapshot: Snapshot, names: Iterable<string>): string[] {
  const out = new Set(names);
  let added = true;
  while (added) {
    added = false;
    for (const t of snapshot.tables) {
      if (out.has(t.name)) continue;
      const parents = [
        ...(t.partitionOf && t.partitionOf.schema === null ? [t.partitionOf.name] : []),
        ...(t.inherits ?? []),
      ];
      if (parents.some((p) => out.has(p))) {
        out.add(t.name);
        added = true;
      }
    }
  }
  return [...out].sort();
}
