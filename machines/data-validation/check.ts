/**
 * Checking one table: one set-based pass counts the rows, profiles every column and counts the rows breaking
 * each rule (`count(*) FILTER (WHERE ...)`), all inside a READ ONLY transaction with a statement timeout. Only
 * then, for rules that are broken, a few example rows are read (`LIMIT`), and the rare follow-ups (outliers, zod
 * rules) run. No row is checked one by one in Node, except against a zod rule, which only Node can evaluate.
 */
import type { z } from 'zod';
import { type Database, qualifiedName, quoteIdent } from '../../src/db/index.js';
import { ConfigurationError } from '../../src/index.js';
import { Params, type Predicate, predicateOf } from './predicates.js';
import { profileSelect, readProfile } from './profile.js';
import { PROPOSAL_TOLERANCE } from './propose.js';
import type { ZodRule } from './rules.js';
import type { ColumnProfile, ExampleSchema, Rule, TableResult, Task } from './schemas.js';

type Example = z.infer<typeof ExampleSchema>;
type Row = Record<string, unknown>;

/** A guessed reference is dropped when more than this share of its values have no match: a name coincidence. */
const ORPHAN_TOLERANCE = 0.5;
/** Rows read per page when a zod rule must see them in Node. */
const ZOD_PAGE = 5_000;
/**
 * How long a pass waits for its table's lock: behind an ALTER TABLE, a VACUUM FULL or a REINDEX it would otherwise
 * wait as long as they run (up to the statement timeout); the table is reported unchecked with the reason instead.
 */
const LOCK_TIMEOUT_MS = 5_000;
/** Entries one SELECT list holds here: PostgreSQL's limit is 1664. */
const MAX_SELECT = 1_500;

/** What the table checker keeps between tables: zod rules from the factory, and the statement timeout. */
export interface CheckerState {
  readonly zodRules: ReadonlyMap<string, ZodRule>;
  readonly statementTimeoutMs: number;
}

/**
 * Checks every rule of `task` in one pass over its table, profiling its columns on the way. A table the pass
 * cannot read (no privilege, a timeout, a type the profile trips on) is tried again without the profile, then
 * reported unchecked with the reason: one table must not sink the validation of the others.
 */
export async function checkTable(db: Database, task: Task, state: CheckerState): Promise<TableResult> {
  try {
    return await pass(db, task, state, true);
  } catch (first) {
    if (first instanceof ConfigurationError) throw first;
    // Locked by another session: a pass without the profile would wait for the same lock.
    if ((first as { code?: unknown }).code === '55P03') {
      const reason = `${(first as Error).message}: another session holds a lock on it (an ALTER TABLE, a VACUUM FULL...)`;
      return { ...EMPTY, table: task.table, error: reason };
    }
    try {
      const plain = await pass(db, task, state, false);
      const reason = first instanceof Error ? first.message : String(first);
      return {
        ...plain,
        notes: [
          ...plain.notes,
          { table: task.table, column: '', kind: 'unchecked', message: `Columns not profiled: ${reason}` },
        ],
      };
    } catch (error) {
      if (error instanceof ConfigurationError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      return { ...EMPTY, table: task.table, error: reason };
    }
  }
}

const EMPTY = {
  rows: 0,
  violatingRows: 0,
  violations: [],
  dropped: [],
  profile: [],
  notes: [],
  durationMs: 0,
};

async function pass(db: Database, task: Task, state: CheckerState, profiled: boolean): Promise<TableResult> {
  const started = performance.now();
  return db.transaction(
    async (tx) => {
      await tx.query("SELECT set_config('lock_timeout', $1, true)", [`${LOCK_TIMEOUT_MS}ms`]);
      const sqlRules = task.rules.filter((r) => r.source !== 'agents');
      const params = new Params();
      const predicates: Predicate[] = [];
      for (const [i, rule] of sqlRules.entries())
        predicates.push(await predicateOf(tx, task, rule, i, params));
      const counts = predicates.map((p, i) => `count(*) FILTER (WHERE ${p.outer}) AS ${quoteIdent(`v${i}`)}`);
      const any =
        predicates.length > 0
          ? `count(*) FILTER (WHERE ${predicates.map((p) => p.outer).join(' OR ')})`
          : '0';
      const base = ['count(*) AS "rows"', `${any} AS "any"`, ...counts];
      // PostgreSQL takes at most 1664 entries in a SELECT list: a wide table's profile (a few aggregates per
      // column) goes on in more passes of its own rather than failing the first one.
      const aggregates = profiled ? profileSelect(task) : [];
      const room = Math.max(0, MAX_SELECT - base.length);
      const { rows } = await tx.query<Row>(
        `SELECT ${[...base, ...aggregates.slice(0, room)].join(', ')} ${fromClause(task, predicates)}`,
        params.values,
      );
      const totals: Row = { ...rows[0] };
      for (let at = room; at < aggregates.length; at += MAX_SELECT) {
        const more = await tx.query<Row>(
          `SELECT ${aggregates.slice(at, at + MAX_SELECT).join(', ')} ${fromClause(task, [])}`,
        );
        Object.assign(totals, more.rows[0]);
      }
      const total = Number(totals.rows ?? 0);
      const profile = profiled ? readProfile(task, totals, total) : [];
      const found = sqlRules.map((rule, i) => ({ rule, i, count: Number(totals[`v${i}`] ?? 0) }));
      const dropped = found.filter(({ rule, count }) => count > 0 && contradicted(rule, count, profile));
      const kept = found.filter((f) => f.count > 0 && !dropped.includes(f));
      let violatingRows = Number(totals.any ?? 0);
      if (dropped.length > 0)
        violatingRows = await countAny(
          tx,
          task,
          kept.map((f) => f.rule),
          sqlRules,
        );
      const violations = [];
      for (const { rule, i, count } of kept) {
        violations.push({ rule: rule.id, count, examples: await examples(tx, task, rule, i) });
      }
      await countOutliers(tx, task, profile);
      for (const rule of task.rules.filter((r) => r.source === 'agents')) {
        const zod = await checkZod(tx, task, rule, state);
        if (zod.count > 0) {
          violations.push({ rule: rule.id, ...zod });
          violatingRows = Math.min(total, violatingRows + zod.count);
        }
      }
      return {
        table: task.table,
        rows: total,
        violatingRows,
        violations,
        dropped: dropped.map((d) => d.rule.id),
        profile,
        notes: await rowSecurity(tx, task, total),
        durationMs: Math.round(performance.now() - started),
      };
    },
    { readOnly: true, statementTimeoutMs: state.statementTimeoutMs },
  );
}

/**
 * A note when row-level security filters the table for this role (a policy, and neither the owner's exemption nor
 * BYPASSRLS): the counts, the rules broken and the profile are of the rows it may see, not of the table.
 */
async function rowSecurity(db: Database, task: Task, seen: number): Promise<TableResult['notes']> {
  const { rows } = await db.query<{ active: boolean | null }>(
    'SELECT row_security_active(to_regclass($1)) AS active',
    [qualifiedName(task.schema, task.table)],
  );
  if (rows[0]?.active !== true) return [];
  return [
    {
      table: task.table,
      column: '',
      kind: 'row-security',
      message: `Row-level security hides rows of ${task.table} from this role: only the ${seen} row(s) it may see were checked and profiled`,
    },
  ];
}

/** A proposal the data contradicts broadly: negatives are common (refunds), or most "references" match nothing. */
function contradicted(rule: Rule, count: number, profile: readonly ColumnProfile[]): boolean {
  if (rule.source !== 'profile') return false;
  const column = profile.find((p) => p.column === rule.columns[0]);
  const present = column ? column.nonNull : 0;
  if (present === 0) return false;
  if (rule.kind === 'non-negative') return count / present > PROPOSAL_TOLERANCE;
  if (rule.kind === 'orphan') return count / present > ORPHAN_TOLERANCE;
  return false;
}

/** The rows a task reads: the table's, or its own alone (an inheritance parent checked beside its children). */
function tableOf(task: Task): string {
  return `${task.only ? 'ONLY ' : ''}${qualifiedName(task.schema, task.table)}`;
}

/** `FROM (the table with its inner flags) AS s` and the joins the predicates need. */
export function fromClause(task: Task, predicates: readonly (Predicate | undefined)[]): string {
  const alias = quoteIdent(task.table);
  const flags = predicates.flatMap((p, i) =>
    p?.inner ? [`, ${p.inner} AS ${quoteIdent(`__fs_v${i}`)}`] : [],
  );
  const joins = predicates.flatMap((p) => (p?.join ? [p.join] : []));
  return [`FROM (SELECT ${alias}.*${flags.join('')} FROM ${tableOf(task)} AS ${alias}) AS s`, ...joins].join(
    ' ',
  );
}

/** Rows breaking at least one of `rules`, in a second pass (only when a dropped proposal skewed the first). */
export async function countAny(
  db: Database,
  task: Task,
  rules: readonly Rule[],
  all: readonly Rule[],
): Promise<number> {
  if (rules.length === 0) return 0;
  const params = new Params();
  const predicates: (Predicate | undefined)[] = [];
  for (const rule of rules)
    predicates[all.indexOf(rule)] = await predicateOf(db, task, rule, all.indexOf(rule), params);
  const conditions = predicates.flatMap((p) => (p ? [p.outer] : []));
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE ${conditions.join(' OR ')}) AS n ${fromClause(task, predicates)}`,
    params.values,
  );
  return Number(rows[0]?.n ?? 0);
}

/** A few rows breaking `rule`, named by their key, with the rule's columns. */
export async function examples(db: Database, task: Task, rule: Rule, index: number): Promise<Example[]> {
  if (task.examples === 0) return [];
  const params = new Params();
  const predicates: (Predicate | undefined)[] = [];
  predicates[index] = await predicateOf(db, task, rule, index, params);
  const limit = params.add(task.examples, 'integer');
  const { rows } = await db.query<Row>(
    `SELECT s.* ${fromClause(task, predicates)} WHERE ${predicates[index]?.outer} LIMIT ${limit}`,
    params.values,
  );
  return rows.map((raw) => {
    const row = asJson(task, raw);
    return example(task, rule, row, message(rule, row));
  });
}

/** Counts values beyond 6 standard deviations for the numeric columns whose extremes suggest some. */
async function countOutliers(db: Database, task: Task, profile: ColumnProfile[]): Promise<void> {
  const suspects = profile.filter(
    (p) =>
      p.mean !== null &&
      p.stddev !== null &&
      p.stddev > 0 &&
      p.nonNull >= 30 &&
      typeof p.min === 'number' &&
      typeof p.max === 'number' &&
      Math.max(p.max - p.mean, p.mean - p.min) > 6 * p.stddev,
  );
  if (suspects.length === 0) return;
  const params = new Params();
  const select = suspects.map((p, i) => {
    const ref =
      task.columns.find((c) => c.name === p.column)?.type === 'money'
        ? `s.${quoteIdent(p.column)}::numeric`
        : `s.${quoteIdent(p.column)}`;
    return `count(*) FILTER (WHERE abs(${ref}::float8 - ${params.add(p.mean, 'float8')}) > ${params.add(6 * (p.stddev ?? 0), 'float8')}) AS ${quoteIdent(`o${i}`)}`;
  });
  const { rows } = await db.query<Row>(`SELECT ${select.join(', ')} ${fromClause(task, [])}`, params.values);
  suspects.forEach((p, i) => {
    p.outliers = Number(rows[0]?.[`o${i}`] ?? 0);
  });
}

/** A zod rule, evaluated in Node page by page (the one check PostgreSQL cannot run). */
async function checkZod(
  db: Database,
  task: Task,
  rule: Rule,
  state: CheckerState,
): Promise<{ count: number; examples: Example[] }> {
  const zod = state.zodRules.get(JSON.stringify([rule.table, rule.name]));
  if (!zod) throw new Error(`No zod rule '${rule.name}' for table '${rule.table}' was given to the agents`);
  // Pages need a stable order: the key, else every orderable column (a view has no ctid to fall back on).
  const sortable = task.columns.filter((c) => c.class !== 'other').map((c) => c.name);
  const order =
    (task.key.length > 0 ? task.key : sortable).map((c) => `s.${quoteIdent(c)}`).join(', ') || '1';
  let count = 0;
  const found: Example[] = [];
  for (let offset = 0; ; offset += ZOD_PAGE) {
    const { rows } = await db.query<Row>(
      `SELECT s.* FROM ${tableOf(task)} AS s ORDER BY ${order} LIMIT $1 OFFSET $2`,
      [ZOD_PAGE, offset],
    );
    for (const raw of rows) {
      const row = asJson(task, raw);
      const result = zod.schema.safeParse(row);
      if (result.success) continue;
      count++;
      const why = result.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.map(String).join('.') || '(row)'}: ${i.message}`)
        .join('; ');
      if (found.length < task.examples) found.push(example(task, rule, row, why));
    }
    if (rows.length < ZOD_PAGE) return { count, examples: found };
  }
}

/** Why `row` breaks `rule`, in words. */
function message(rule: Rule, row: Row): string {
  const [column = ''] = rule.columns;
  const value = JSON.stringify(row[column]);
  switch (rule.kind) {
    case 'not-null':
      return `${column} is NULL`;
    case 'enum':
      return `${column} = ${value} is not one of ${rule.values?.join(', ')}`;
    case 'range':
    case 'non-negative':
      return `${column} = ${value} is out of range (${rule.name})`;
    case 'not-future':
      return `${column} = ${value} is in the future`;
    case 'foreign-key':
    case 'orphan':
      return `${rule.columns.join(', ')} has no match in ${rule.refTable}`;
    default:
      return `breaks ${rule.name}: ${rule.description}`;
  }
}

function example(task: Task, rule: Rule, row: Row, why: string): Example {
  const pick = (columns: readonly string[]) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null]));
  return {
    key: task.key.length > 0 ? pick(task.key) : trim(row),
    values: rule.columns.length > 0 ? pick(rule.columns) : trim(row),
    message: why,
  };
}

/** A row as JSON: numerics as numbers (when exact enough), instants as ISO strings, bytes as hex, flags left out. */
function asJson(task: Task, raw: Row): Row {
  const row: Row = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name.startsWith('__fs_')) continue;
    const type = task.columns.find((c) => c.name === name)?.type ?? '';
    if (value instanceof Date) row[name] = value.toISOString();
    else if (value instanceof Uint8Array) row[name] = `\\x${Buffer.from(value).toString('hex')}`;
    else if (typeof value === 'string' && /^numeric/.test(type) && Number.isFinite(Number(value)))
      row[name] = Number(value);
    else row[name] = value;
  }
  return row;
}

function trim(row: Row): Row {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      typeof v === 'string' && v.length > 120 ? `${v.slice(0, 117)}...` : v,
    ]),
  );
}
