/**
 * Types in the dry run. The copy had none of the schema's types: its columns, defaults and checks used the target's,
 * so a statement naming one with the schema (`ALTER TYPE s.mood ADD VALUE`, `ALTER DOMAIN s.amount ADD CONSTRAINT`,
 * `DROP DOMAIN s.code CASCADE`, a column `s.address`) was requalified to a copy that did not exist and failed the dry
 * run, though it would apply; written unqualified it changed (and locked) the target's own type, rolled back.
 *
 * Now the copy gets a copy of each of the schema's enum types (labels in order), composite types (attributes) and
 * domains (base type, collation, default, NOT NULL, CHECKs, named as there), each after the types it uses, and the
 * copied tables, defaults, checks, indexes and views use them (they are printed with the schema on the search path,
 * so they name the types unqualified, and made with the copy first on it); the statements' `s.mood` is requalified to
 * the copy like their other names, and an unqualified `mood` finds the copy first. A type is not copied when
 * something the copy does not copy uses it (a function's argument or result, a cast, an operator, a range type, a
 * column or type of another schema: the copy's type would not be the one they take), nor when its copy cannot be
 * made; its columns then keep the target's type. A statement that changes such a type, or a type of another schema,
 * or names one of them with the schema, is refused before anything runs (`refuseUncopiedTypes`): trying it would
 * change the database's own type, or fail on a copy that is not there.
 *
 * This file reads what is copied; `scratch-types-make.ts` makes the copies, `scratch-types-refuse.ts` refuses.
 */
// Which of the schema's types the dry run's copy gets, and how each is made: read from the target before the copy is
// made, with the types it cannot have and why.
import { type Database, quoteIdent } from '../../src/db/index.js';
import { type Domain, readDomains } from './snapshot-domains.js';

/**
 * One type to copy: what makes it (with a domain's CHECKs, added while no column uses it: PostgreSQL cannot check one
 * added later through an array or composite type of the domain), and a domain's `NOT VALID` CHECKs, added once the
 * rows are copied (rows on the target may break them).
 */
interface TypeToCopy {
  readonly name: string;
  /** The schema's types it uses (made first). */
  readonly uses: readonly string[];
  readonly create: readonly string[];
  readonly notValid: readonly string[];
}

/** What the copy needs of the target's types, read before the copy is made. */
export interface TypeCopy {
  /** In an order where each comes after the types it uses. */
  readonly types: readonly TypeToCopy[];
  /** The schema's types the copy will not have, by name, with why. */
  readonly uncopied: ReadonlyMap<string, string>;
}

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The enum, composite and domain types of the schema, with what they need: labels, attributes (printed with the
 * schema on the search path), the schema's types they use, and what else uses them (`usedBy`: objects the copy does
 * not copy). Dependencies on the type or its array type count alike.
 */
const TYPES = `
  SELECT t.typname AS name, t.typtype::text AS kind,
         ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
         ARRAY(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                      || CASE WHEN a.attcollation <> at.typcollation
                              THEN ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(co.collname) ELSE '' END
               FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
               LEFT JOIN pg_collation co ON co.oid = a.attcollation
               LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
               WHERE a.attrelid = t.typrelid AND t.typrelid <> 0 AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY a.attnum) AS attributes,
         ARRAY(SELECT DISTINCT u.typname::text FROM pg_depend d JOIN pg_type r ON r.oid = d.refobjid
               JOIN pg_type u ON u.oid = CASE WHEN r.typelem <> 0 THEN r.typelem ELSE r.oid END
               WHERE d.refclassid = 'pg_type'::regclass AND u.typnamespace = t.typnamespace AND u.oid <> t.oid
                 AND ((d.classid = 'pg_type'::regclass AND d.objid = t.oid)
                      OR (d.classid = 'pg_class'::regclass AND d.objid = t.typrelid AND t.typrelid <> 0))) AS uses,
         ARRAY(SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
               WHERE d.refclassid = 'pg_type'::regclass AND d.refobjid IN (t.oid, t.typarray) AND d.deptype = 'n'
                 AND NOT (
                   (d.classid = 'pg_class'::regclass
                    AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.objid AND c.relnamespace = t.typnamespace))
                   OR (d.classid = 'pg_type'::regclass
                       AND EXISTS (SELECT 1 FROM pg_type x WHERE x.oid = d.objid AND x.typnamespace = t.typnamespace
                                   AND x.typtype = 'd'))
                   OR (d.classid = 'pg_constraint'::regclass
                       AND EXISTS (SELECT 1 FROM pg_constraint k WHERE k.oid = d.objid AND k.connamespace = t.typnamespace))
                   OR (d.classid = 'pg_attrdef'::regclass
                       AND EXISTS (SELECT 1 FROM pg_attrdef x JOIN pg_class c ON c.oid = x.adrelid
                                   WHERE x.oid = d.objid AND c.relnamespace = t.typnamespace))
                   OR (d.classid = 'pg_rewrite'::regclass
                       AND EXISTS (SELECT 1 FROM pg_rewrite x JOIN pg_class c ON c.oid = x.ev_class
                                   WHERE x.oid = d.objid AND c.relnamespace = t.typnamespace))
                   OR (d.classid = 'pg_policy'::regclass
                       AND EXISTS (SELECT 1 FROM pg_policy x JOIN pg_class c ON c.oid = x.polrelid
                                   WHERE x.oid = d.objid AND c.relnamespace = t.typnamespace))
                   OR (d.classid = 'pg_trigger'::regclass
                       AND EXISTS (SELECT 1 FROM pg_trigger x JOIN pg_class c ON c.oid = x.tgrelid
                                   WHERE x.oid = d.objid AND c.relnamespace = t.typnamespace)))
               ORDER BY 1) AS "usedBy",
         EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                 AND d.deptype = 'e') AS extension
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_class c ON c.oid = t.typrelid
  WHERE n.nspname = $1 AND (t.typrelid = 0 OR c.relkind = 'c')
    AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
  ORDER BY t.oid`;

interface TypeRow {
  name: string;
  kind: string;
  labels: string[];
  attributes: string[];
  uses: string[];
  usedBy: string[];
  extension: boolean;
}

/**
 * Reads what the copy needs of the target's types; `tx`'s search path must be `live` alone (names of its objects then
 * print unqualified). `here` requalifies a definition to the copy.
 */
export async function readTypeCopy(
  tx: Database,
  live: string,
  here: (sql: string) => string,
): Promise<TypeCopy> {
  const { rows } = await tx.query<TypeRow>(TYPES, [live]);
  const domains = new Map((await readDomains(tx, live)).map((d) => [d.name, d]));
  const uncopied = new Map<string, string>();
  for (const r of rows) {
    if (r.extension) uncopied.set(r.name, "it is an extension's");
    else if (r.kind !== 'e' && r.kind !== 'c' && r.kind !== 'd')
      uncopied.set(r.name, r.kind === 'r' || r.kind === 'm' ? 'it is a range type' : 'it is a base type');
    else if (r.usedBy.length > 0)
      uncopied.set(r.name, `${r.usedBy.join(', ')} ${r.usedBy.length > 1 ? 'use' : 'uses'} it`);
  }
  // A type a type not copied uses stays the target's too: that one keeps using the target's.
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (!uncopied.has(r.name)) continue;
      for (const used of r.uses) {
        if (uncopied.has(used)) continue;
        uncopied.set(used, `type ${r.name}, which is not copied, uses it`);
        grew = true;
      }
    }
  }
  const types: TypeToCopy[] = [];
  for (const r of rows) {
    if (uncopied.has(r.name)) continue;
    const name = quoteIdent(r.name);
    const domain = domains.get(r.name);
    if (r.kind === 'd' && domain)
      types.push({ name: r.name, uses: r.uses, ...domainCopy(name, domain, here) });
    else if (r.kind === 'e')
      types.push({
        name: r.name,
        uses: r.uses,
        create: [`CREATE TYPE ${name} AS ENUM (${r.labels.map(literal).join(', ')})`],
        notValid: [],
      });
    else if (r.kind === 'c')
      types.push({
        name: r.name,
        uses: r.uses,
        create: [`CREATE TYPE ${name} AS (${r.attributes.map(here).join(', ')})`],
        notValid: [],
      });
  }
  return { types: usedFirst(types), uncopied };
}

/** `CREATE DOMAIN` with its collation, default, NOT NULL and CHECKs, named as on the target. */
function domainCopy(
  name: string,
  d: Domain,
  here: (sql: string) => string,
): { create: string[]; notValid: string[] } {
  const collate = d.collation === null ? '' : ` COLLATE ${d.collation}`;
  const fallback = d.default === null ? '' : ` DEFAULT ${here(d.default)}`;
  const check = (k: Domain['checks'][number]) =>
    `ALTER DOMAIN ${name} ADD CONSTRAINT ${quoteIdent(k.name)} ${here(k.definition)}`;
  const valid = d.checks.filter((k) => !notValid(k.definition));
  return {
    create: [
      `CREATE DOMAIN ${name} AS ${here(d.type)}${collate}${fallback}${d.notNull ? ' NOT NULL' : ''}`,
      ...valid.map(check),
    ],
    notValid: d.checks.filter((k) => notValid(k.definition)).map(check),
  };
}

/** A constraint that never checked the values already there (`pg_get_constraintdef` ends it so). */
const notValid = (definition: string) => /\bNOT VALID$/.test(definition);

/** The types in an order where each comes after those it uses (a cycle, which PostgreSQL forbids, keeps its order). */
function usedFirst(types: readonly TypeToCopy[]): TypeToCopy[] {
  const out: TypeToCopy[] = [];
  const made = new Set<string>();
  let left = [...types];
  while (left.length > 0) {
    const ready = left.filter((t) => t.uses.every((u) => made.has(u) || !left.some((l) => l.name === u)));
    for (const t of ready.length > 0 ? ready : left) {
      out.push(t);
      made.add(t.name);
    }
    left = left.filter((t) => !made.has(t.name));
  }
  return out;
}
