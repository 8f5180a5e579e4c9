import { CorruptRunError, type SerializedError } from '../model/errors.js';
import { ENDED_SQL } from './prune.js';
import type {
  DueRun,
  HistoryRow,
  InboxMessage,
  JournalEntry,
  RunHead,
  RunRecord,
  RunStatus,
  StoredRun,
} from './types.js';

/** A run as SQL stores it: JSON fields as text. Shared by the SQLite and PostgreSQL stores. */
export interface RunRow {
  id: string;
  workflow: string;
  version: string;
  status: string;
  input: string;
  output: string | null;
  error: string | null;
  snapshot: string;
  created_at: number | string;
  updated_at: number | string;
  owner?: string | null;
  epoch?: number | string | null;
  lease_until?: number | string | null;
  idle?: number | boolean | null;
}

const STATUSES = new Set<string>(['running', 'waiting', 'done', 'failed', 'cancelled', 'compensated']);

/** The SQL columns of a run, in insert order. */
export const RUN_COLUMNS = [
  'id',
  'workflow',
  'version',
  'status',
  'input',
  'output',
  'error',
  'snapshot',
  'created_at',
  'updated_at',
] as const;

/** The columns a listing reads: all but the snapshot (often the largest), which a listing never returns. */
export const LIST_COLUMNS =
  "id, workflow, version, status, input, output, error, '' AS snapshot, created_at, updated_at, owner, epoch, lease_until, idle";

/** The columns a listing of heads reads: neither input, output nor snapshot (read as constants, never from the row). */
export const HEAD_COLUMNS =
  "id, workflow, version, status, 'null' AS input, NULL AS output, error, '' AS snapshot, created_at, updated_at, owner, epoch, lease_until, idle";

/** A row of {@link HEAD_COLUMNS} for a listing of heads: as {@link listRunRow}, without input and output. */
export function listRunHead(row: RunRow): RunHead {
  const { input: _input, output: _output, ...head } = listRunRow(row);
  return head;
}

/**
 * The JSON texts of a run's row, made before the store's transaction by {@link prepareRow} (a field is absent until
 * made): a store writes them as they are, serializing nothing of the run again.
 */
interface RowJson {
  input?: string;
  output?: string | null;
  error?: string | null;
}

const prepared = new WeakMap<StoredRun, RowJson>();

function rowJson(run: StoredRun): RowJson {
  let json = prepared.get(run);
  if (!json) {
    json = {};
    prepared.set(run, json);
  }
  return json;
}

/** The JSON text of a run's input, made by the caller already (the engine serializes an input as its run starts). */
export function presetInputJson(run: StoredRun, text: string): void {
  rowJson(run).input = text;
}

/**
 * Serializes a run's JSON fields (its input too with `withInput`: a claim, a restart) outside the store's transaction,
 * once: a value JSON cannot hold throws here, for this run alone, and the batch writer leaves the run out. Inside a
 * transaction it would fail the whole batch, retried forever, and hold every run of the engine behind it.
 */
export function prepareRow(run: StoredRun, withInput: boolean): void {
  // Most checkpoints have nothing to serialize but their snapshot (made already): nothing is kept for them.
  if (!withInput && run.output === undefined && run.error === undefined) return;
  const json = rowJson(run);
  if (withInput && !('input' in json)) json.input = inputJson(run.input);
  if (!('output' in json)) json.output = run.output === undefined ? null : JSON.stringify(run.output);
  if (!('error' in json)) json.error = run.error === undefined ? null : JSON.stringify(run.error);
}

/**
 * A run input as the JSON text its row holds: `null` for what JSON has no text for at all (`undefined`, a function, a
 * symbol), as the input column needs a value. Throws for a value JSON cannot hold (see storable.ts).
 */
function inputJson(input: unknown): string {
  return JSON.stringify(input) ?? 'null';
}

/** The JSON text of a run's input: as {@link prepareRow} made it, else made now (a store written to directly). */
function inputText(run: StoredRun, json: RowJson | undefined): string {
  return json?.input ?? inputJson(run.input);
}

/** A run's output and error as JSON text (or null): as {@link prepareRow} made them, else made now. */
function resultTexts(run: StoredRun, json: RowJson | undefined): [string | null, string | null] {
  return [
    json && 'output' in json
      ? (json.output as string | null)
      : run.output === undefined
        ? null
        : JSON.stringify(run.output),
    json && 'error' in json
      ? (json.error as string | null)
      : run.error === undefined
        ? null
        : JSON.stringify(run.error),
  ];
}

/** A stored run as the values of {@link RUN_COLUMNS}. */
export function runValues(run: StoredRun): unknown[] {
  const json = prepared.get(run);
  const [output, error] = resultTexts(run, json);
  return [
    run.id,
    run.workflow,
    run.version,
    run.status,
    inputText(run, json),
    output,
    error,
    run.snapshot,
    run.createdAt,
    run.updatedAt,
  ];
}

/**
 * What a checkpoint changes in a run's row. The input is written with the claim and only again when the run restarts
 * from a (maybe new) input (`resetJournal`): it is not serialized and sent at every checkpoint. `input` is null
 * otherwise (the stores keep the row's).
 */
export function checkpointValues(run: StoredRun, restarted: boolean) {
  const json =
    restarted || run.output !== undefined || run.error !== undefined ? prepared.get(run) : undefined;
  const [output, error] = resultTexts(run, json);
  return {
    version: run.version,
    status: run.status,
    input: restarted ? inputText(run, json) : null,
    output,
    error,
    snapshot: run.snapshot,
    updatedAt: run.updatedAt,
  };
}

/** A checkpoint's idle flag as the SQL column holds it (0 or 1: SQLite has no boolean). */
export function idleValue(idle: boolean | undefined): number {
  return idle ? 1 : 0;
}

/**
 * A row back into a run. Throws on a row that does not parse (hand-edited or corrupted); callers turn that into a
 * typed error for that run alone.
 */
function parseRunRow(row: RunRow): StoredRun {
  if (!STATUSES.has(row.status)) throw new Error(`unknown status '${row.status}'`);
  return {
    id: row.id,
    workflow: row.workflow,
    version: row.version,
    status: row.status as RunStatus,
    input: JSON.parse(row.input) as unknown,
    ...(row.output === null ? {} : { output: JSON.parse(row.output) as unknown }),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as SerializedError }),
    snapshot: row.snapshot,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...leaseOf(row),
  };
}

/** The lease columns of a row, as record fields (absent when the row has none). */
function leaseOf(row: RunRow): Pick<RunRecord, 'owner' | 'epoch' | 'leaseUntil' | 'idle'> {
  return {
    ...(Number(row.idle) === 1 ? { idle: true } : {}),
    ...(row.owner ? { owner: row.owner } : {}),
    ...(row.epoch !== undefined && row.epoch !== null ? { epoch: Number(row.epoch) } : {}),
    ...(row.lease_until !== undefined && row.lease_until !== null
      ? { leaseUntil: Number(row.lease_until) }
      : {}),
  };
}

/** A row for a listing: a row that does not parse is listed with an error saying so, never thrown. */
export function listRunRow(row: RunRow): RunRecord {
  try {
    const { snapshot: _snapshot, ...record } = parseRunRow(row);
    return record;
  } catch (cause) {
    return {
      id: row.id,
      workflow: row.workflow,
      version: row.version,
      status: (STATUSES.has(row.status) ? row.status : 'failed') as RunStatus,
      input: undefined,
      error: {
        name: 'CorruptRunError',
        code: 'RUN_CORRUPTED',
        message: `Stored run '${row.id}' does not parse: ${(cause as Error).message}`,
      },
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      ...leaseOf(row),
    };
  }
}

/**
 * The tables both SQL stores create: the same schema, with the integer type of epoch milliseconds as the only
 * difference (SQLite's INTEGER is 64-bit; PostgreSQL needs BIGINT).
 */
export function storeSchema(epochType: 'INTEGER' | 'BIGINT'): string {
  return `
CREATE TABLE IF NOT EXISTS flowstate_runs (
  id TEXT PRIMARY KEY, workflow TEXT NOT NULL, version TEXT NOT NULL, status TEXT NOT NULL,
  input TEXT NOT NULL, output TEXT, error TEXT, snapshot TEXT NOT NULL,
  created_at ${epochType} NOT NULL, updated_at ${epochType} NOT NULL,
  owner TEXT, epoch INTEGER NOT NULL DEFAULT 0, lease_until ${epochType} NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS flowstate_runs_status ON flowstate_runs (status, created_at);
CREATE TABLE IF NOT EXISTS flowstate_journal (
  key TEXT PRIMARY KEY, run_id TEXT NOT NULL, step_path TEXT NOT NULL, attempt INTEGER NOT NULL,
  output TEXT NOT NULL, created_at ${epochType} NOT NULL);
CREATE INDEX IF NOT EXISTS flowstate_journal_run ON flowstate_journal (run_id);
CREATE TABLE IF NOT EXISTS flowstate_timers (
  run_id TEXT NOT NULL, step_path TEXT NOT NULL, kind TEXT NOT NULL, deadline ${epochType} NOT NULL,
  PRIMARY KEY (run_id, step_path, kind));
CREATE TABLE IF NOT EXISTS flowstate_durations (
  workflow TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
  updated_at ${epochType} NOT NULL, PRIMARY KEY (workflow, kind, path));
CREATE TABLE IF NOT EXISTS flowstate_inbox (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
  state TEXT NOT NULL, result TEXT, created_at ${epochType} NOT NULL);
CREATE INDEX IF NOT EXISTS flowstate_inbox_pending ON flowstate_inbox (run_id, created_at) WHERE state = 'pending';
`;
}

/**
 * Columns added since the first release, for stores created before them (\`ADD COLUMN\` on an existing table),
 * then the indexes that need them, the index a page of the runs list reads (newest or oldest first) instead of
 * sorting every row, and the timers' deadline index the wake-up scheduler of passivated runs reads a range of.
 * Pruning reads the ended runs oldest first on `flowstate_runs_ended`, and finds a run's inbox rows (answered ones
 * too: the pending index holds only pending rows) on `flowstate_inbox_run`, never by scanning a table.
 */
export function leaseColumns(epochType: 'INTEGER' | 'BIGINT'): {
  columns: [string, string][];
  indexes: string;
} {
  return {
    columns: [
      ['owner', 'TEXT'],
      ['epoch', 'INTEGER NOT NULL DEFAULT 0'],
      ['lease_until', `${epochType} NOT NULL DEFAULT 0`],
      ['idle', 'INTEGER NOT NULL DEFAULT 0'],
    ],
    indexes: `
CREATE INDEX IF NOT EXISTS flowstate_runs_owner ON flowstate_runs (owner) WHERE status IN ('running', 'waiting');
CREATE INDEX IF NOT EXISTS flowstate_runs_lease ON flowstate_runs (lease_until, created_at) WHERE status IN ('running', 'waiting');
CREATE INDEX IF NOT EXISTS flowstate_runs_created ON flowstate_runs (created_at, id);
CREATE INDEX IF NOT EXISTS flowstate_timers_deadline ON flowstate_timers (deadline);
CREATE INDEX IF NOT EXISTS flowstate_runs_owner_lease ON flowstate_runs (owner, lease_until) WHERE status IN ('running', 'waiting');
CREATE INDEX IF NOT EXISTS flowstate_runs_ended ON flowstate_runs (updated_at, id) WHERE ${ENDED_SQL};
CREATE INDEX IF NOT EXISTS flowstate_inbox_run ON flowstate_inbox (run_id);
`,
  };
}

/** An inbox row as SQL stores it. */
export interface InboxRow {
  id: string;
  run_id: string;
  kind: string;
  body: string;
  state: string;
  result: string | null;
  created_at: number | string;
}

/** An inbox row back into a message. */
export function readInboxRow(row: InboxRow): InboxMessage {
  return {
    id: row.id,
    runId: row.run_id,
    kind: row.kind as InboxMessage['kind'],
    body: row.body,
    state: row.state as InboxMessage['state'],
    ...(row.result === null ? {} : { result: row.result }),
    createdAt: Number(row.created_at),
  };
}

/** A learned-duration row as SQL stores it. */
export interface HistoryRowData {
  workflow: string;
  path: string;
  kind: string;
  state: string;
  updated_at: number | string;
}

/** Rows of `flowstate_durations` back into history rows; a row of an unknown kind is skipped, never thrown. */
export function readHistoryRows(rows: readonly HistoryRowData[]): HistoryRow[] {
  const out: HistoryRow[] = [];
  for (const r of rows) {
    if (r.kind !== 'duration' && r.kind !== 'choice') continue;
    out.push({
      workflow: r.workflow,
      path: r.path,
      kind: r.kind,
      state: r.state,
      updatedAt: Number(r.updated_at),
    });
  }
  return out;
}

/** A stored run's row, or a `CorruptRunError` for that run alone when it does not parse. */
export function readRunRow(row: RunRow): StoredRun {
  try {
    return parseRunRow(row);
  } catch (cause) {
    throw new CorruptRunError(row.id, cause);
  }
}

/** A row of `flowstate_journal` (PostgreSQL returns its `bigint` column as text). */
export interface JournalRow {
  key: string;
  run_id: string;
  step_path: string;
  attempt: number;
  output: string;
  created_at: number | string;
}

/** A journal row back into an entry. Shared by the SQLite and PostgreSQL stores. */
export function readJournalRow(row: JournalRow): JournalEntry {
  return {
    key: row.key,
    runId: row.run_id,
    stepPath: row.step_path,
    attempt: row.attempt,
    output: row.output,
    createdAt: Number(row.created_at),
  };
}

/**
 * Due runs from the rows of both reads of `listDue` (deadlines in deadline order, pending signals): one per run at
 * its earliest due time, earliest first, at most `limit`.
 */
export function mergeDue(
  timers: readonly { id: string; workflow: string; due: number | string }[],
  signals: readonly { id: string; workflow: string; due: number | string }[],
  limit: number,
): DueRun[] {
  const byId = new Map<string, DueRun>();
  const add = (r: { id: string; workflow: string; due: number | string }, signalled: boolean) => {
    const due = Number(r.due);
    const seen = byId.get(r.id);
    const flagged = signalled || seen?.signalled === true;
    byId.set(r.id, {
      id: r.id,
      workflow: r.workflow,
      due: seen && seen.due <= due ? seen.due : due,
      ...(flagged ? { signalled: true } : {}),
    });
  };
  for (const r of timers) add(r, false);
  for (const r of signals) add(r, true);
  return [...byId.values()].sort((a, b) => a.due - b.due || (a.id < b.id ? -1 : 1)).slice(0, limit);
}
