/**
 * Column profiles, computed in the same pass as the rule counts: NULLs, distinct values (exact on small tables,
 * else the planner's estimate, since an exact count sorts every value), range, mean and spread of numbers,
 * freshness of instants. Numbers come back as numbers (`float8`), instants as ISO text.
 */
import { quoteIdent } from '../../src/db/index.js';
import type { ColumnProfile, Task } from './schemas.js';

const alias = (prefix: string, i: number) => quoteIdent(`p${prefix}${i}`);

/** The aggregates of the profile, to add to the pass's SELECT list. */
export function profileSelect(task: Task): string[] {
  return task.columns.flatMap((column, i) => {
    const ref = `s.${quoteIdent(column.name)}`;
    const value = column.type === 'money' ? `${ref}::numeric` : ref;
    const out = [`count(${ref}) AS ${alias('n', i)}`];
    if (task.exactDistinct && column.class !== 'other')
      out.push(`count(DISTINCT ${ref}) AS ${alias('d', i)}`);
    if (column.class === 'number') {
      out.push(`min(${value})::float8 AS ${alias('min', i)}`, `max(${value})::float8 AS ${alias('max', i)}`);
      if (!column.key) {
        out.push(
          `avg(${value})::float8 AS ${alias('avg', i)}`,
          `stddev_samp(${value})::float8 AS ${alias('sd', i)}`,
        );
      }
    }
    if (column.class === 'instant') {
      out.push(
        `to_json(min(${ref})) #>> '{}' AS ${alias('min', i)}`,
        `to_json(max(${ref})) #>> '{}' AS ${alias('max', i)}`,
        `(extract(epoch FROM now()) - extract(epoch FROM max(${ref})::timestamptz)) / 86400 AS ${alias('age', i)}`,
      );
    }
    return out;
  });
}

/** The profile of each column, read from the pass's row. */
export function readProfile(task: Task, row: Record<string, unknown>, total: number): ColumnProfile[] {
  const get = (prefix: string, i: number) => row[`p${prefix}${i}`];
  // 'infinity' dates and NaN numerics exist: JSON (and the report's schema) has no such numbers.
  const num = (value: unknown) => {
    const n = value === null || value === undefined ? null : Number(value);
    return n !== null && Number.isFinite(n) ? n : null;
  };
  return task.columns.map((column, i) => {
    const nonNull = Number(get('n', i) ?? 0);
    const exact = num(get('d', i));
    const stats = column.statsDistinct;
    const estimate = stats === null ? null : stats >= 0 ? stats : Math.round(-stats * nonNull);
    const bound = (prefix: string) => {
      const value = get(prefix, i);
      if (value === null || value === undefined) return null;
      return column.class === 'number' ? num(value) : String(value);
    };
    const age = num(get('age', i));
    return {
      column: column.name,
      type: column.type,
      nulls: total - nonNull,
      nonNull,
      nullRate: total === 0 ? 0 : (total - nonNull) / total,
      distinct: exact ?? estimate,
      distinctEstimated: exact === null && estimate !== null,
      min: bound('min'),
      max: bound('max'),
      mean: num(get('avg', i)),
      stddev: num(get('sd', i)),
      negatives: null,
      outliers: null,
      newestAgeDays: age === null ? null : Math.round(age * 10) / 10,
    };
  });
}
