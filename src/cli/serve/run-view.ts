/**
 * What the web view shows of a stored run, read from the store only (the run may be owned by any process): its
 * record, its step log, the states it is in, what waits on a human, and a percent and ETA.
 *
 * Where the step log comes from: a step actor keeps its attempts (start, end, error) in the persisted snapshot while
 * it runs, but XState drops a finished child from the snapshot. So the log joins (1) the live step actors of the
 * last checkpoint, (2) what this server saw of steps while they ran (kept in memory per run), and (3) the journal
 * (every successful attempt's end). A step that finished before the server watched shows its journaled attempt only.
 * A failed step is never journaled: an ended run's error names it (`failed-steps.ts`).
 */
import type { AnyStateMachine, StateValue } from 'xstate';
import { flatStateValue } from '../../machine/legacy-state-value.js';
import type { AttemptRecord, StepSnapshot } from '../../machine/step-types.js';
import type { AnyWorkflowDefinition } from '../../model/definition.js';
import type { SerializedError } from '../../model/errors.js';
import { notUndoneOf } from '../../model/not-undone.js';
import { withRunInput } from '../../persistence/stored-input.js';
import type {
  HistoryRow,
  JournalEntry,
  RunHead,
  RunRecord,
  StoredRun,
  TimerRow,
} from '../../persistence/types.js';
import { activeStates, type Chart, chartOf } from './chart.js';
import { failedSteps, withFailedSteps } from './failed-steps.js';
import type { AttemptView, StepLogEntry } from './step-log.js';

export type { AttemptView, StepLogEntry } from './step-log.js';

/** A step waiting on a human, with what it takes. */
export interface WaitingView {
  readonly path: string;
  readonly kind: 'escalation' | 'wait';
  /** For a `waitFor`: the event type it takes. */
  readonly event?: string;
  readonly deadline?: number;
}

/** A row of the runs list. */
export interface RunRow extends Omit<RunRecord, 'input' | 'output' | 'error' | 'epoch'> {
  readonly durationMs: number;
  readonly percent: number | null;
  readonly etaMs: number | null;
  /** The error, and the compensations that failed (what was not undone), by step path. */
  readonly error?: {
    readonly message: string;
    readonly code?: string;
    readonly notUndone?: readonly { readonly stepPath: string; readonly message: string }[];
  };
}

/** The run page's data. */
export interface RunDetail {
  readonly run: RunRow & { readonly input: unknown; readonly output?: unknown };
  readonly steps: readonly StepLogEntry[];
  readonly active: readonly string[];
  readonly waiting: readonly WaitingView[];
  readonly chart: Chart | null;
}

const ENDED = new Set(['done', 'failed', 'cancelled', 'compensated']);
/** How many runs' step histories the server keeps in memory. */
const MAX_REMEMBERED = 2_000;

/** Builds rows and details; remembers step histories per run, so finished steps keep their attempts. */
export class RunViews {
  private readonly seen = new Map<string, Map<string, StepLogEntry>>();
  private readonly charts = new Map<string, Chart>();
  /** Learned step durations (EWMA, ms) by `workflow\0path`, from the store's history (`learn`). */
  private learned = new Map<string, number>();

  constructor(private readonly workflows: ReadonlyMap<string, AnyWorkflowDefinition>) {}

  /** Takes the durations the engines learned (the store's `loadHistory`), for the ETA. */
  learn(rows: readonly HistoryRow[]): void {
    const learned = new Map<string, number>();
    for (const row of rows) {
      if (row.kind !== 'duration') continue;
      try {
        const { ewma } = JSON.parse(row.state) as { ewma?: unknown };
        if (typeof ewma === 'number' && Number.isFinite(ewma))
          learned.set(`${row.workflow}\0${row.path}`, ewma);
      } catch {
        // A row that does not parse is skipped, as the engine's own history does.
      }
    }
    this.learned = learned;
  }

  /**
   * A list row: percent and ETA need the snapshot, so only unfinished runs pass one. The row never carries the
   * snapshot itself, even when `record` is a whole stored run (`detail` passes one; a store's list may return
   * them): it is the engine's internal state, megabytes for a big map, and no client should depend on it.
   */
  row(record: RunHead, stored: StoredRun | undefined, now: number): RunRow {
    const {
      input: _i,
      output: _o,
      error,
      epoch: _e,
      snapshot: _s,
      ...rest
    } = record as Partial<StoredRun> & RunHead;
    const ended = ENDED.has(record.status);
    const durationMs = (ended ? record.updatedAt : now) - record.createdAt;
    const progress = ended
      ? { percent: record.status === 'done' ? 100 : null, etaMs: 0 }
      : this.progress(stored, now);
    return {
      ...rest,
      durationMs,
      percent: progress.percent,
      etaMs: ended ? null : progress.etaMs,
      ...(error ? { error: rowError(error) } : {}),
    };
  }

  /** The run page's data from the run, its journal and its timers. */
  detail(
    stored: StoredRun,
    journal: readonly JournalEntry[],
    timers: readonly TimerRow[],
    now: number,
  ): RunDetail {
    const snapshot = parse(stored);
    const machine = this.machineOf(stored.workflow);
    const steps = this.steps(stored.id, snapshot, journal);
    // A failed step is in neither the snapshot nor the journal: the run's error names it (and failed compensations).
    if (ENDED.has(stored.status) && stored.error) {
      const log = new Map(steps.map((s) => [s.path, s]));
      withFailedSteps(log, failedSteps(stored.error, stored.updatedAt));
      steps.splice(0, steps.length, ...[...log.values()].sort((a, b) => orderOf(a) - orderOf(b)));
    }
    const waiting: WaitingView[] = timers
      .filter((t) => t.kind !== 'backoff')
      .map((t) => ({
        path: t.stepPath,
        kind: t.kind === 'wait' ? 'wait' : 'escalation',
        deadline: t.deadline,
      }));
    const chart = machine ? this.chartOf(stored.workflow, machine) : null;
    const active =
      machine && !ENDED.has(stored.status)
        ? activeStates(machine, snapshot?.value && flatStateValue(machine, snapshot.value))
        : [];
    for (const w of waiting) {
      if (w.kind !== 'wait') continue;
      const node = chart?.nodes.find(
        (n) => n.kind === 'wait' && active.includes(n.id) && w.path.endsWith(n.label),
      );
      if (node?.event) Object.assign(w, { event: node.event });
    }
    for (const s of steps)
      if (s.status === 'escalated' && !waiting.some((w) => w.path === s.path))
        waiting.push({ path: s.path, kind: 'escalation' });
    const row = this.row(stored, stored, now);
    return {
      run: { ...row, input: stored.input, ...(stored.output !== undefined ? { output: stored.output } : {}) },
      steps,
      active,
      waiting,
      chart,
    };
  }

  private machineOf(workflow: string): AnyStateMachine | undefined {
    return this.workflows.get(workflow)?.machine;
  }

  private chartOf(workflow: string, machine: AnyStateMachine): Chart {
    const known = this.charts.get(workflow);
    if (known) return known;
    const chart = chartOf(machine);
    this.charts.set(workflow, chart);
    return chart;
  }

  /**
   * Percent of the definition's steps with a result, and an ETA: the sum of the remaining steps' estimates (what the
   * engines learned, else the step's `expectedMs`, else the run's pace so far), less what the running ones used.
   */
  private progress(
    stored: StoredRun | undefined,
    now: number,
  ): { percent: number | null; etaMs: number | null } {
    const machine = stored ? this.machineOf(stored.workflow) : undefined;
    if (!stored || !machine) return { percent: null, etaMs: null };
    const chart = this.chartOf(stored.workflow, machine);
    const stepNodes = chart.nodes.filter((n) => n.kind === 'step' || n.kind === 'wait' || n.kind === 'map');
    const snapshot = parse(stored);
    const results = snapshot?.context?.results ?? {};
    const done = Object.keys(results).length;
    const total = Math.max(stepNodes.length, done, 1);
    const percent = Math.min(99, Math.round((100 * done) / total));
    const pace = done > 0 ? (now - stored.createdAt) / done : undefined;
    const running = new Map([...stepSnapshots(snapshot)].map((s) => [s.input.path, now - s.startedAt]));
    let eta = 0;
    for (const node of stepNodes) {
      if (Object.hasOwn(results, node.label)) continue;
      const estimate = this.learned.get(`${stored.workflow}\0${node.label}`) ?? node.expectedMs ?? pace;
      if (estimate === undefined) return { percent, etaMs: null };
      eta += Math.max(0, estimate - (running.get(node.label) ?? 0));
    }
    return { percent, etaMs: Math.round(eta) };
  }

  /** The step log: live actors of the snapshot, then what was seen before, then the journal. */
  private steps(
    runId: string,
    snapshot: Parsed | undefined,
    journal: readonly JournalEntry[],
  ): StepLogEntry[] {
    let seen = this.seen.get(runId);
    if (!seen) {
      seen = new Map();
      this.seen.set(runId, seen);
      // Bounded: the oldest run watched is forgotten first (its log falls back to the journal).
      if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value as string);
    }
    const live = new Set<string>();
    for (const step of stepSnapshots(snapshot)) {
      const entry = fromSnapshot(step);
      seen.set(entry.path, entry);
      live.add(entry.path);
    }
    for (const [path, entry] of seen) {
      // Not in the snapshot any more: it finished (its end is its last attempt's, or the journal's).
      if (live.has(path) || ENDED.has(entry.status)) continue;
      const journaled = journal.filter((j) => j.stepPath === path);
      const known = new Set(entry.attempts.map((a) => a.attempt));
      // Attempts that ran between two polls are known from the journal only (their end; not their errors).
      const attempts: AttemptView[] = [
        ...entry.attempts.map((a, i) => {
          const end =
            journaled.find((j) => j.attempt === a.attempt)?.createdAt ?? entry.attempts[i + 1]?.startedAt;
          return a.endedAt === undefined && end !== undefined ? { ...a, endedAt: end } : a;
        }),
        ...journaled
          .filter((j) => !known.has(j.attempt))
          .map((j) => ({ attempt: j.attempt, endedAt: j.createdAt })),
      ].sort((a, b) => a.attempt - b.attempt);
      const last = attempts.at(-1);
      const status = journaled.length > 0 || !last?.error ? 'done' : 'failed';
      const endedAt = last?.endedAt;
      seen.set(path, finish({ ...entry, status, attempts, ...(endedAt ? { endedAt } : {}) }));
    }
    for (const j of journal) {
      // Attempts count from 1; a map's journaled item inputs (attempt 0) are not a step's.
      if (seen.has(j.stepPath) || j.attempt < 1) continue;
      seen.set(j.stepPath, {
        path: j.stepPath,
        status: 'done',
        attempts: [{ attempt: j.attempt, endedAt: j.createdAt }],
        endedAt: j.createdAt,
      });
    }
    return [...seen.values()].sort((a, b) => orderOf(a) - orderOf(b));
  }
}

/** The parts of a persisted snapshot the view reads. */
interface Parsed {
  readonly value?: StateValue;
  readonly context?: { readonly results?: Record<string, unknown> };
  readonly children?: Record<string, { readonly snapshot?: unknown }>;
}

/** The run's snapshot with its input put back from the record (as stored: sealed secrets stay sealed). */
function parse(stored: StoredRun): Parsed | undefined {
  if (stored.snapshot === '') return undefined;
  try {
    return withRunInput(JSON.parse(stored.snapshot) as Parsed, stored.input);
  } catch {
    return undefined;
  }
}

/** Every step actor's snapshot in a persisted snapshot, child workflows included. */
function* stepSnapshots(snapshot: Parsed | undefined): Generator<StepSnapshot> {
  for (const child of Object.values(snapshot?.children ?? {})) {
    const s = child.snapshot as (StepSnapshot & Parsed) | undefined;
    if (!s || typeof s !== 'object') continue;
    if ('phase' in s && 'history' in s && s.input?.path) yield s;
    else yield* stepSnapshots(s);
  }
}

function fromSnapshot(s: StepSnapshot): StepLogEntry {
  const attempts = s.history.map(attemptOf);
  const status = s.status === 'done' ? 'done' : s.status === 'error' ? 'failed' : s.phase;
  return finish({ path: s.input.path, status, attempts, startedAt: s.startedAt });
}

function attemptOf(a: AttemptRecord): AttemptView {
  return {
    attempt: a.attempt,
    agent: a.agent,
    startedAt: a.startedAt,
    ...(a.endedAt !== undefined ? { endedAt: a.endedAt } : {}),
    ...(a.error
      ? { error: { message: a.error.message, ...(a.error.code ? { code: a.error.code } : {}) } }
      : {}),
  };
}

/** Fills in a step's start, end and duration from its attempts. */
function finish(entry: StepLogEntry): StepLogEntry {
  const startedAt = entry.startedAt ?? entry.attempts[0]?.startedAt;
  const endedAt = ENDED.has(entry.status) ? (entry.endedAt ?? entry.attempts.at(-1)?.endedAt) : undefined;
  return {
    ...entry,
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(endedAt !== undefined ? { endedAt } : {}),
    ...(startedAt !== undefined && endedAt !== undefined ? { durationMs: endedAt - startedAt } : {}),
  };
}

/**
 * Where a step goes in the log: when it started, or, known from the journal only, just before it ended. A journaled
 * end is written before the next step starts, often in the same millisecond: the finished step goes first.
 */
function orderOf(step: StepLogEntry): number {
  return step.startedAt ?? (step.endedAt ?? 0) - 0.5;
}

/** A run's error for the list: message, code, and the compensations that failed with their agents' reasons. */
function rowError(error: SerializedError): NonNullable<RunRow['error']> {
  const notUndone = notUndoneOf(error).map(({ stepPath, reason }) => ({
    stepPath: stepPath ?? '',
    message: reason,
  }));
  return {
    message: error.message,
    ...(error.code ? { code: error.code } : {}),
    ...(notUndone.length > 0 ? { notUndone } : {}),
  };
}
