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
 */
import { type Database, quoteIdent } from '../../src/db/index.js';
import { loadParser, type PgNode, parseSql, strings } from '../lib/pg-parser.js';
import { MigrationError } from './errors.js';
import type { PlannedStatement } from './parse.js';
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

/**
 * Makes the copies in `scratch` (its search path first, then the target's), each in a savepoint: one whose copy
 * cannot be made is left out (its columns keep the target's type) and added to the uncopied. Returns the uncopied.
 */
export async function createTypeCopies(
  tx: Database,
  copy: TypeCopy,
  scratch: string,
): Promise<Map<string, string>> {
  const uncopied = new Map(copy.uncopied);
  for (const t of copy.types) {
    // Qualified: an unqualified name would find the target's type if the copy were not there.
    const create = t.create.map((sql) =>
      sql.replace(/^(CREATE TYPE|CREATE DOMAIN|ALTER DOMAIN) /, `$1 ${scratch}.`),
    );
    await tx
      .transaction(async (sp) => {
        for (const sql of create) await sp.query(sql);
      })
      .catch((error: unknown) => {
        uncopied.set(
          t.name,
          `its copy could not be made (${error instanceof Error ? error.message : String(error)})`,
        );
      });
  }
  return uncopied;
}

/** Once the rows are copied: each copied domain's `NOT VALID` CHECKs (they stay so). */
export async function finishTypeCopies(
  tx: Database,
  copy: TypeCopy,
  scratch: string,
  uncopied: ReadonlyMap<string, string>,
): Promise<void> {
  for (const t of copy.types) {
    if (uncopied.has(t.name)) continue;
    for (const sql of t.notValid) await tx.query(sql.replace(/^ALTER DOMAIN /, `ALTER DOMAIN ${scratch}.`));
  }
}

/**
 * SQL: the select list copying the rows of `live`'s table into the copy's (every column but generated ones, named
 * as `columns` names them): a column whose type in the copy is not the target's (a copied type, an array of one) is
 * cast through its text, which every type reads back.
 */
export async function copiedColumns(
  tx: Database,
  live: string,
  scratch: string,
): Promise<Map<string, { columns: string[]; values: string[] }>> {
  const { rows } = await tx.query<{ table: string; name: string; type: string | null }>(
    `SELECT c.relname AS "table", a.attname AS name,
            CASE WHEN sa.atttypid <> a.atttypid THEN format_type(sa.atttypid, sa.atttypmod) END AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class sc ON sc.relname = c.relname AND sc.relnamespace = $2::regnamespace
       JOIN pg_attribute sa ON sa.attrelid = sc.oid AND sa.attname = a.attname AND sa.attnum > 0 AND NOT sa.attisdropped
      WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`,
    [live, scratch],
  );
  const out = new Map<string, { columns: string[]; values: string[] }>();
  for (const r of rows) {
    const entry = out.get(r.table) ?? { columns: [], values: [] };
    out.set(r.table, entry);
    const column = quoteIdent(r.name);
    entry.columns.push(column);
    // Printed with the copy first on the search path: the name finds the copy's type.
    entry.values.push(r.type === null ? column : `${column}::text::${r.type}`);
  }
  return out;
}

/** Statement types whose object is a type, and the field naming it. */
const TYPE_TARGETS: Record<string, { field: string; kinds?: { field: string; values: readonly string[] } }> =
  {
    AlterEnumStmt: { field: 'typeName' },
    AlterDomainStmt: { field: 'typeName' },
    AlterTypeStmt: { field: 'typeName' },
    AlterTableStmt: { field: 'relation', kinds: { field: 'objtype', values: ['OBJECT_TYPE'] } },
    DropStmt: { field: 'objects', kinds: { field: 'removeType', values: ['OBJECT_TYPE', 'OBJECT_DOMAIN'] } },
    AlterObjectSchemaStmt: {
      field: 'object',
      kinds: { field: 'objectType', values: ['OBJECT_TYPE', 'OBJECT_DOMAIN'] },
    },
    AlterOwnerStmt: {
      field: 'object',
      kinds: { field: 'objectType', values: ['OBJECT_TYPE', 'OBJECT_DOMAIN'] },
    },
    CommentStmt: {
      field: 'object',
      kinds: { field: 'objtype', values: ['OBJECT_TYPE', 'OBJECT_DOMAIN', 'OBJECT_DOMCONSTRAINT'] },
    },
    SecLabelStmt: {
      field: 'object',
      kinds: { field: 'objtype', values: ['OBJECT_TYPE', 'OBJECT_DOMAIN', 'OBJECT_DOMCONSTRAINT'] },
    },
    GrantStmt: { field: 'objects', kinds: { field: 'objtype', values: ['OBJECT_TYPE', 'OBJECT_DOMAIN'] } },
  };

/** The qualified names (as lists of parts) a field holds: a list of strings, a TypeName, a List, a RangeVar. */
function namesIn(value: unknown): string[][] {
  if (Array.isArray(value)) {
    const parts = strings(value);
    return parts.length > 0 && parts.length === value.length ? [parts] : value.flatMap(namesIn);
  }
  if (value === null || typeof value !== 'object') return [];
  const node = value as PgNode;
  if (node.TypeName) return namesIn(node.TypeName);
  if (Array.isArray(node.names) && 'typemod' in node) return [strings(node.names)];
  if (node.List) return namesIn((node.List as PgNode).items);
  if (Array.isArray(node.items)) return namesIn(node.items);
  if (typeof node.relname === 'string')
    return [[...(typeof node.schemaname === 'string' ? [node.schemaname] : []), node.relname]];
  return [];
}

/** The types a statement changes (its object), as lists of name parts. */
function typesChanged(type: string, node: PgNode): string[][] {
  if (type === 'RenameStmt') {
    if (node.renameType === 'OBJECT_ATTRIBUTE') return namesIn(node.relation);
    return ['OBJECT_TYPE', 'OBJECT_DOMAIN', 'OBJECT_DOMCONSTRAINT'].includes(String(node.renameType))
      ? namesIn(node.object)
      : [];
  }
  const target = TYPE_TARGETS[type];
  if (!target) return [];
  if (target.kinds && !target.kinds.values.includes(String(node[target.kinds.field]))) return [];
  // A comment on a domain's constraint names the domain, then the constraint.
  const names = namesIn(node[target.field]);
  return type === 'CommentStmt' || type === 'SecLabelStmt' ? names.slice(0, 1) : names;
}

/** Every type name written in a tree (a column's type, a cast, a domain's base), as lists of name parts. */
function typesNamed(root: unknown, out: string[][] = []): string[][] {
  if (Array.isArray(root)) {
    for (const item of root) typesNamed(item, out);
    return out;
  }
  if (root === null || typeof root !== 'object') return out;
  const node = root as PgNode;
  if (Array.isArray(node.names) && 'typemod' in node) out.push(strings(node.names));
  for (const value of Object.values(node)) typesNamed(value, out);
  return out;
}

/** PostgreSQL's own schemas: their types are never the migration's. */
const SYSTEM = new Set(['pg_catalog', 'information_schema']);

/**
 * Why the dry run must not run the statements on the copy, one reason per statement and type: a change to a type of
 * the schema the copy has not (it would change the target's), or to a type of another schema, and a type the copy has
 * not named with the schema (requalified, it would name a copy that is not there). Call {@link loadParser} first.
 */
function uncopiedTypeRefusals(
  statements: readonly PlannedStatement[],
  live: string,
  uncopied: ReadonlyMap<string, string>,
): string[] {
  const reasons: string[] = [];
  for (const s of statements) {
    for (const parsed of parseSql(s.sql)) {
      const where = `statement ${s.index + 1}`;
      const changed = typesChanged(parsed.type, parsed.node);
      for (const parts of changed) {
        const name = parts.at(-1) ?? '';
        const schema = parts.length > 1 ? (parts.at(-2) ?? '') : null;
        if (schema !== null && schema !== live && !SYSTEM.has(schema))
          reasons.push(
            `${where} changes type ${schema}.${name} of another schema, which the copy has not: it would change the database's own`,
          );
        else if ((schema === null || schema === live) && uncopied.has(name))
          reasons.push(
            `${where} changes type ${live}.${name}, which the copy has not (${uncopied.get(name)}): it would change the database's own`,
          );
      }
      for (const parts of typesNamed(parsed.node)) {
        const name = parts.at(-1) ?? '';
        if (parts.length < 2 || parts.at(-2) !== live || !uncopied.has(name)) continue;
        if (changed.some((c) => c.at(-1) === name)) continue;
        reasons.push(
          `${where} names type ${live}.${name}, which the copy has not (${uncopied.get(name)}): write it unqualified, and it is the target's`,
        );
      }
    }
  }
  return [...new Set(reasons)];
}

/**
 * On the copy, once its types are made: throws when {@link uncopiedTypeRefusals} finds a reason, before the dry run
 * runs any statement.
 */
export async function refuseUncopiedTypes(
  statements: readonly PlannedStatement[],
  live: string,
  uncopied: ReadonlyMap<string, string>,
): Promise<void> {
  await loadParser();
  const reasons = uncopiedTypeRefusals(statements, live, uncopied);
  if (reasons.length === 0) return;
  throw new MigrationError(
    'MIGRATION_DRY_RUN_REFUSED',
    `Not dry-run: the dry run's copy has copies of the schema's enum, composite and domain types, and these statements would reach a type it has not (${reasons.join('; ')}). migrationAgents(db, { dryRun: 'live' }) tries them on the target itself, rolled back`,
  );
}
