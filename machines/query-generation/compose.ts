/**
 * Turns an {@link Intent} into one SELECT: tables and columns come from the schema context (checked there, then
 * quoted with `quoteIdent`), every value and the LIMIT are parameters.
 */
import { qualifiedName, quoteIdent } from '../../src/db/index.js';
import { type Intent, type Link, linksOf, type Metric, singular } from './intent.js';
import type { ContextTable, SchemaContext } from './schema-context.js';

/** A query with its parameters and a sentence saying what it does. */
export interface Composed {
  readonly sql: string;
  readonly params: (string | number)[];
  readonly explanation: string;
}

/** Rows a listing returns when the request gives no number. */
const DEFAULT_LIMIT = 100;
/** Columns that name a row, by preference, for labels in joins and groups. */
const LABELS = ['name', 'full_name', 'title', 'sku', 'email'];

/** Builds the SQL of `intent` on `context`. */
export function compose(intent: Intent, context: SchemaContext): Composed {
  const table = (name: string) => {
    const found = context.tables.find((t) => t.name === name);
    if (!found) throw new Error(`No table '${name}' in the schema context`);
    return found;
  };
  const col = (alias: string, t: ContextTable, column: string) => {
    if (!t.columns.some((c) => c.name === column)) throw new Error(`No column '${column}' in '${t.name}'`);
    return `${alias}.${quoteIdent(column)}`;
  };
  const params: (string | number)[] = [];
  const param = (value: string | number) => {
    params.push(value);
    return `$${params.length}`;
  };
  const main = table(intent.table);
  const links = linksOf(context.tables, main.name);
  const aliases = new Map<string, string>([[main.name, 't0']]);
  const joins: string[] = [];
  /** Joins `name` along its foreign key with the main table (once) and returns its alias. */
  const join = (name: string): string => {
    const known = aliases.get(name);
    if (known) return known;
    const link = links.find(
      (l) => (l.from === main.name && l.to === name) || (l.to === main.name && l.from === name),
    );
    if (!link) throw new Error(`No foreign key between '${main.name}' and '${name}'`);
    const alias = `t${aliases.size}`;
    aliases.set(name, alias);
    joins.push(`LEFT JOIN ${qualifiedName(context.schema, name)} ${alias} ON ${on(link, alias)}`);
    return alias;
  };
  const on = (link: Link, alias: string) => {
    const [child, parent] = link.from === main.name ? ['t0', alias] : [alias, 't0'];
    return link.columns
      .map((c, i) => `${parent}.${quoteIdent(link.refColumns[i] as string)} = ${child}.${quoteIdent(c)}`)
      .join(' AND ');
  };
  const label = (t: ContextTable) =>
    LABELS.find((l) => t.columns.some((c) => c.name === l)) ??
    t.columns.find((c) => /text|char/.test(c.type))?.name ??
    t.primaryKey[0] ??
    (t.columns[0]?.name as string);

  const where = intent.filters.map((f) => {
    const ref = col(join(f.table), table(f.table), f.column);
    if (f.op === 'year') {
      const year = param(f.value);
      return `${ref} >= make_date(${year}::int, 1, 1) AND ${ref} < make_date(${year}::int + 1, 1, 1)`;
    }
    if (f.op === 'month') {
      const start = param(f.value);
      return `${ref} >= ${start}::date AND ${ref} < ${start}::date + make_interval(months => 1)`;
    }
    if (f.op === 'since') return `${ref} >= ${param(f.value)}::date`;
    if (f.op === 'before') return `${ref} < ${param(f.value)}::date`;
    return `${ref} ${f.op} ${param(f.value)}`;
  });
  const filtered = intent.filters.map((f) => `${f.table}.${f.column} ${f.op} ${JSON.stringify(f.value)}`);
  const metricSql = (m: Metric) => {
    if (m.fn === 'count') return m.table ? `count(${join(m.table)}.*)` : 'count(*)';
    const expr = col(join(m.table), table(m.table), m.column);
    return m.fn === 'avg' ? `round(avg(${expr})::numeric, 2)` : `${m.fn}(${expr})`;
  };
  const metricName = (m: Metric) =>
    m.fn === 'count' ? (m.table ? `${singular(m.table)}_count` : 'count') : `${m.fn}_${m.column}`;
  const from = () =>
    [
      `FROM ${qualifiedName(context.schema, main.name)} t0`,
      ...joins,
      where.length > 0 ? `WHERE ${where.join(' AND ')}` : '',
    ]
      .filter(Boolean)
      .join('\n');
  const because = filtered.length > 0 ? ` where ${filtered.join(' and ')}` : '';
  const key = main.primaryKey.map((c) => col('t0', main, c));

  switch (intent.kind) {
    case 'count':
    case 'aggregate': {
      const metric = intent.metric ?? { fn: 'count' };
      const value = `${metricSql(metric)} AS ${quoteIdent(metricName(metric))}`;
      if (!intent.group) {
        return {
          sql: `SELECT ${value}\n${from()}`,
          params,
          explanation: `${describe(metric)} of ${main.name}${because}`,
        };
      }
      const g = table(intent.group.table);
      const alias = join(g.name);
      const columns = intent.group.column
        ? [col(alias, g, intent.group.column)]
        : [...g.primaryKey.map((c) => col(alias, g, c)), col(alias, g, label(g))];
      const names = intent.group.column
        ? [intent.group.column]
        : [...g.primaryKey.map((c) => `${singular(g.name)}_${c}`), singular(g.name)];
      const select = columns.map((c, i) => `${c} AS ${quoteIdent(names[i] as string)}`);
      const sql = [
        `SELECT ${[...select, value].join(', ')}`,
        from(),
        `GROUP BY ${columns.join(', ')}`,
        `ORDER BY ${select.length + 1} DESC NULLS LAST`,
      ].join('\n');
      return {
        sql,
        params,
        explanation: `${describe(metric)} of ${main.name} by ${intent.group.column ?? g.name}${because}`,
      };
    }
    case 'top': {
      const limit = param(intent.limit ?? 10);
      if (intent.order) {
        const sql = `SELECT t0.*\n${from()}\nORDER BY ${col('t0', main, intent.order.column)} ${intent.order.direction.toUpperCase()} NULLS LAST\nLIMIT ${limit}`;
        return {
          sql,
          params,
          explanation: `The ${intent.limit} ${main.name} with the ${intent.order.direction === 'desc' ? 'highest' : 'lowest'} ${intent.order.column}${because}`,
        };
      }
      const metric = intent.metric ?? { fn: 'count' };
      const value = `${metricSql(metric)} AS ${quoteIdent(metricName(metric))}`;
      const name = col('t0', main, label(main));
      const shown = key.includes(name) ? key : [...key, name];
      const sql = [
        `SELECT ${[...shown, value].join(', ')}`,
        from(),
        `GROUP BY ${shown.join(', ')}`,
        `ORDER BY ${quoteIdent(metricName(metric))} DESC NULLS LAST`,
        `LIMIT ${limit}`,
      ].join('\n');
      return {
        sql,
        params,
        explanation: `The ${intent.limit} ${main.name} with the most ${metric.fn === 'count' ? metric.table : `${metric.fn} of ${metric.column}`}${because}`,
      };
    }
    case 'list': {
      const extra = intent.related
        ? (() => {
            const r = table(intent.related);
            return [`${col(join(r.name), r, label(r))} AS ${quoteIdent(`${singular(r.name)}_${label(r)}`)}`];
          })()
        : [];
      const limit = param(intent.limit ?? DEFAULT_LIMIT);
      const order = key.length > 0 ? `\nORDER BY ${key.join(', ')}` : '';
      const sql = `SELECT ${['t0.*', ...extra].join(', ')}\n${from()}${order}\nLIMIT ${limit}`;
      return {
        sql,
        params,
        explanation: `${main.name}${intent.related ? ` with their ${intent.related}` : ''}${because}, at most ${intent.limit ?? DEFAULT_LIMIT} rows`,
      };
    }
  }
}

function describe(metric: Metric): string {
  if (metric.fn === 'count') return metric.table ? `Number of ${metric.table}` : 'Number';
  const names = { sum: 'Total', avg: 'Average', min: 'Lowest', max: 'Highest' } as const;
  return `${names[metric.fn]} ${metric.column}`;
}
