/**
 * The statements the dry run refuses because of types: one that changes a type the copy has not (or of another
 * schema), or names it with the schema. Refused before anything runs: tried, it would change the database's own type,
 * or fail on a copy that is not there.
 */
import { loadParser, type PgNode, parseSql, strings } from '../lib/pg-parser.js';
import { MigrationError } from './errors.js';
import type { PlannedStatement } from './parse.js';

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
