/**
 * The facts `compareSnapshots` compares beyond the tables' columns, keys, indexes and triggers: privileges, row-level
 * security and policies, sequences, enum labels and domains, each named as a message says it (`grant UPDATE on table
 * t to bob`, `policy t.own_rows`, `sequence t_id_seq`, `enum mood`, `domain amount`, `domain constraint
 * amount.positive`). A family is compared only when both snapshots recorded it: a snapshot stored before it was, or
 * the dry run's copy (which has not the target's privileges nor sequences), has none.
 */
import { type Domain, domainText } from './snapshot-domains.js';
import { type Enum, labelsText } from './snapshot-enums.js';
import { type Grant, grantKey, type Policy, policyText, rowSecurityText } from './snapshot-security.js';
import { type Sequence, sequenceText } from './snapshot-sequences.js';

/** The parts of a snapshot read here (structural: this file sits below `snapshot.ts`). */
interface Part {
  readonly schema: string;
  readonly tables: readonly {
    name: string;
    grants?: Grant[] | undefined;
    rowSecurity?: { enabled: boolean; forced: boolean } | undefined;
    policies?: Policy[] | undefined;
  }[];
  readonly views: readonly { name: string; grants?: Grant[] | undefined }[];
  readonly sequences?: readonly Sequence[] | undefined;
  readonly enums?: readonly Enum[] | undefined;
  readonly domains?: readonly Domain[] | undefined;
  readonly schemaGrants?: readonly Grant[] | undefined;
}

type Add = (relation: string, key: string, value: string) => void;

/** Which families both snapshots recorded. */
function recorded(a: Part, b: Part) {
  const both = (has: (p: Part) => boolean) => has(a) && has(b);
  return {
    grants: both(
      (p) =>
        p.tables.every((t) => t.grants !== undefined) &&
        p.views.every((v) => v.grants !== undefined) &&
        (p.sequences ?? []).every((q) => q.grants !== undefined),
    ),
    security: both((p) => p.tables.every((t) => t.rowSecurity !== undefined && t.policies !== undefined)),
    sequences: both((p) => p.sequences !== undefined),
    enums: both((p) => p.enums !== undefined),
    domains: both((p) => p.domains !== undefined),
    schemaGrants: both((p) => p.schemaGrants !== undefined),
  };
}

/** Adds the facts of `expected` with `setExpected` and those of `actual` with `setActual`. */
export function objectFacts(expected: Part, actual: Part, setExpected: Add, setActual: Add): void {
  const families = recorded(expected, actual);
  factsOf(expected, families, setExpected);
  factsOf(actual, families, setActual);
}

function factsOf(p: Part, families: ReturnType<typeof recorded>, set: Add): void {
  const grants = (relation: string, on: string, list: readonly Grant[] | undefined) => {
    for (const g of list ?? [])
      set(relation, grantKey(on, g), g.revoked ? 'revoked' : g.grantable ? 'WITH GRANT OPTION' : 'granted');
  };
  for (const t of p.tables) {
    if (families.grants) grants(t.name, `table ${t.name}`, t.grants);
    if (!families.security) continue;
    const rls = rowSecurityText(t.rowSecurity);
    if (rls !== null) set(t.name, `row level security on ${t.name}`, rls);
    for (const policy of t.policies ?? []) set(t.name, `policy ${t.name}.${policy.name}`, policyText(policy));
  }
  if (families.grants) for (const v of p.views) grants(v.name, `view ${v.name}`, v.grants);
  if (families.sequences)
    for (const q of p.sequences ?? []) {
      set(q.name, `sequence ${q.name}`, sequenceText(q));
      if (families.grants) grants(q.name, `sequence ${q.name}`, q.grants);
    }
  if (families.enums) for (const e of p.enums ?? []) set(e.name, `enum ${e.name}`, labelsText(e));
  if (families.domains)
    for (const d of p.domains ?? []) {
      set(d.name, `domain ${d.name}`, domainText(d));
      for (const k of d.checks) set(d.name, `domain constraint ${d.name}.${k.name}`, k.definition);
    }
  if (families.schemaGrants) grants('', `schema ${p.schema}`, p.schemaGrants);
}
