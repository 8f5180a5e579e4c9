/**
 * The catalog queries a {@link Snapshot} is read with, each on the schema `$1`. Whatever an extension owns there
 * (HypoPG's `hypopg_list_indexes` view, the optimizer template's; PostGIS's `spatial_ref_sys` table; their indexes,
 * keys and columns) is left out of every one: it is the extension's, made and dropped by `CREATE`/`DROP EXTENSION`,
 * never by a migration, and the dry run's copy does not copy it (see `copySchema`), so a snapshot that had it would
 * find it "unexpected" after every apply.
 */

/**
 * SQL: whether the relation `oid` belongs to an extension (`pg_depend` deptype `e`, as `CREATE EXTENSION` and
 * `ALTER EXTENSION ... ADD` record it). Shared with the dry run's copy, so both leave out the same objects.
 */
export function extensionMember(oid: string): string {
  return `EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
}

/**
 * SQL: the options of the sequence of the identity column `attnum` of the table `relid`, as a json object
 * (`IdentitySequenceSchema` in `snapshot-sequences.ts`), or null when it has none of its own (PostgreSQL 17 and
 * later give a partition its parent's identity, whose sequence is the parent's).
 */
export function identitySequenceOf(relid: string, attnum: string): string {
  return `(SELECT json_build_object('start', s.seqstart::text, 'increment', s.seqincrement::text, 'min', s.seqmin::text,
                                    'max', s.seqmax::text, 'cache', s.seqcache::text, 'cycle', s.seqcycle)
             FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ${relid}
              AND d.refobjsubid = ${attnum} AND d.deptype = 'i' LIMIT 1)`;
}

/**
 * Tables and views, with what a table records beyond its columns (key, partitioning, inheritance, triggers, row-level
 * security).
 */
export const RELATIONS = `
  SELECT c.relname AS name, c.relkind::text AS kind, GREATEST(c.reltuples, 0)::float8 AS "estimatedRows",
         json_build_object('enabled', c.relrowsecurity, 'forced', c.relforcerowsecurity) AS "rowSecurity",
         CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
         ARRAY(SELECT a.attname::text FROM pg_index x CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY u(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum
               WHERE x.indrelid = c.oid AND x.indisprimary ORDER BY u.ord) AS "primaryKey",
         (SELECT json_build_object('schema', NULLIF(pn.nspname::text, $1::text), 'name', p.relname, 'bound', pg_get_expr(c.relpartbound, c.oid))
          FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
          WHERE i.inhrelid = c.oid AND c.relispartition) AS "partitionOf",
         CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS "partitionKey",
         ARRAY(SELECT p.relname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
               WHERE i.inhrelid = c.oid AND NOT c.relispartition AND p.relnamespace = c.relnamespace
               ORDER BY i.inhseqno) AS inherits,
         ARRAY(SELECT t.tgname::text FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal
               UNION ALL SELECT r.rulename::text FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN'
               ORDER BY 1) AS triggers,
         ARRAY(SELECT json_build_object('name', t.tgname, 'kind', 'trigger', 'definition', pg_get_triggerdef(t.oid),
                                        'enabled', t.tgenabled::text)
               FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgparentid = 0
               UNION ALL
               SELECT json_build_object('name', r.rulename, 'kind', 'rule', 'definition', pg_get_ruledef(r.oid),
                                        'enabled', r.ev_enabled::text)
               FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN') AS "triggerDefinitions"
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT ${extensionMember('c.oid')}
  ORDER BY c.relname`;

/** The columns of the tables. */
export const COLUMNS = `
  SELECT c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
         a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS "default",
         a.attgenerated::text AS generated, a.attidentity::text AS identity, a.attinhcount > 0 AS inherited,
         CASE WHEN a.attidentity <> '' THEN ${identitySequenceOf('c.oid', 'a.attnum')} END AS "identitySequence"
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT ${extensionMember('c.oid')}
  ORDER BY c.relname, a.attnum`;

// NOT NULL constraints (`n`, PostgreSQL 18 and PGlite) are left out: the columns' `notNull` says the same.
export const CONSTRAINTS = `
  SELECT c.relname AS "table", k.conname AS name, k.contype::text AS type, pg_get_constraintdef(k.oid) AS definition,
         k.conparentid <> 0 OR k.coninhcount > 0 AS inherited
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND k.contype <> 'n' AND NOT ${extensionMember('c.oid')}
  ORDER BY c.relname, k.conname`;

/** The indexes no constraint owns, of the tables and materialized views. */
export const INDEXES = `
  SELECT t.relname AS "table", i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition,
         (SELECT pi.relname FROM pg_inherits h JOIN pg_class pi ON pi.oid = h.inhparent
          WHERE h.inhrelid = x.indexrelid AND pi.relnamespace = i.relnamespace) AS "parentIndex"
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
    AND NOT ${extensionMember('t.oid')} AND NOT ${extensionMember('x.indexrelid')}
  ORDER BY t.relname, i.relname`;
