/**
 * What the ETA learns from: past step durations and past decisions, per workflow id and step path.
 */

/**
 * A duration estimate: a central value and a range.
 *
 * @example
 * ```ts
 * const { ms, low, high } = history.estimate('triage', 'scan') ?? { ms: 1000, low: 500, high: 2000 };
 * ```
 */
export interface DurationEstimate {
  /** The central estimate (an exponentially weighted moving average), in ms. */
  readonly ms: number;
  /** The low quantile of recent durations, in ms. */
  readonly low: number;
  /** The high quantile of recent durations, in ms. */
  readonly high: number;
  /** How many durations were recorded. */
  readonly samples: number;
}

/**
 * Where step durations and decisions are kept between runs. Keys are a workflow id (the definition's id, not the
 * run id) and a path: a step path (`fetch`, `child/inner`), `map[*]` for any item of a map, or the name of a map,
 * `waitFor`, branch or loop. Methods are synchronous because the tracker calls them on every emission: a durable
 * implementation keeps a cache in memory and writes behind.
 *
 * @example
 * ```ts
 * const history = memoryHistory();
 * history.record('triage', 'scan', 120);
 * history.estimate('triage', 'scan'); // { ms: 120, low: 120, high: 120, samples: 1 }
 * ```
 */
export interface DurationHistory {
  /** Records how long a step (or a map, or a wait) took when it finished successfully. */
  record(workflowId: string, path: string, ms: number): void;
  /** The estimate for a path, or `undefined` without history. */
  estimate(workflowId: string, path: string): DurationEstimate | undefined;
  /** Records a decision: the arm a branch took (`'0'`, `'otherwise'`), the rounds a loop ran (`'3'`). */
  recordChoice(workflowId: string, path: string, choice: string): void;
  /** Recent weights of each choice (higher is more frequent), or `undefined` without history. */
  choices(workflowId: string, path: string): Readonly<Record<string, number>> | undefined;
}

/**
 * Options of {@link memoryHistory}.
 *
 * @example
 * ```ts
 * memoryHistory({ alpha: 0.2, window: 50, quantiles: [0.05, 0.95] });
 * ```
 */
export interface MemoryHistoryOptions {
  /** The weight of the newest duration in the moving average, and the decay of older choices. @default 0.3 */
  readonly alpha?: number;
  /** How many recent durations the quantile range is taken from. @default 20 */
  readonly window?: number;
  /** The low and high quantiles of the range. @default [0.1, 0.9] */
  readonly quantiles?: readonly [number, number];
  /** How many paths are kept per workflow; past it, the path recorded first is forgotten. @default 10000 */
  readonly maxKeys?: number;
}

interface DurationEntry {
  ewma: number;
  samples: number;
  /** The last `window` durations, as a ring (order does not matter to quantiles). */
  readonly recent: number[];
  /** Where the next duration goes in `recent` once it is full. */
  slot: number;
  /** Computed on first read after a record: estimates are read far more often than written. */
  cached: DurationEstimate | undefined;
}

/** What a history learns per path: a duration, or the weights of a decision's choices. */
export type HistoryKind = 'duration' | 'choice';

/**
 * A {@link DurationHistory} in memory: an EWMA per path with a quantile range over recent durations, and decayed
 * counts of choices. An engine creates one by default and shares it across its runs.
 *
 * @example
 * ```ts
 * const history = memoryHistory({ alpha: 0.5 });
 * const engine = createEngine({ agents, history });
 * ```
 */
export function memoryHistory(options: MemoryHistoryOptions = {}): DurationHistory {
  return new MemoryHistory(options);
}

/**
 * The memory history, with what a store needs beside the {@link DurationHistory} interface: each learned path as
 * JSON-safe state, told of as it changes, and loaded back.
 *
 * @example
 * ```ts
 * const history = new MemoryHistory({}, (kind, workflowId, path) => dirty.add([kind, workflowId, path]));
 * history.restore('duration', 'triage', 'scan', JSON.parse(row.state)); // false when the state is not valid
 * ```
 */
export class MemoryHistory implements DurationHistory {
  private readonly alpha: number;
  private readonly window: number;
  private readonly qLow: number;
  private readonly qHigh: number;
  private readonly maxKeys: number;
  // Nested by workflow: every finished step records, so no key string is built on that path.
  private readonly durations = new Map<string, Map<string, DurationEntry>>();
  private readonly decisions = new Map<string, Map<string, Record<string, number>>>();

  constructor(
    options: MemoryHistoryOptions = {},
    /** Told of every path that learned something (a store writes it behind). */
    private readonly onChange?: (kind: HistoryKind, workflowId: string, path: string) => void,
  ) {
    this.alpha = options.alpha ?? 0.3;
    this.window = Math.max(1, options.window ?? 20);
    [this.qLow, this.qHigh] = options.quantiles ?? [0.1, 0.9];
    this.maxKeys = Math.max(1, options.maxKeys ?? 10_000);
  }

  record(workflowId: string, path: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const entry = this.durations.get(workflowId)?.get(path);
    if (!entry) {
      const fresh = { ewma: ms, samples: 1, recent: [ms], slot: 0, cached: undefined };
      this.pathsOf(this.durations, workflowId, path).set(path, fresh);
    } else {
      entry.ewma = this.alpha * ms + (1 - this.alpha) * entry.ewma;
      entry.samples++;
      if (entry.recent.length < this.window) entry.recent.push(ms);
      else {
        entry.recent[entry.slot] = ms;
        entry.slot = (entry.slot + 1) % this.window;
      }
      entry.cached = undefined;
    }
    this.onChange?.('duration', workflowId, path);
  }

  estimate(workflowId: string, path: string): DurationEstimate | undefined {
    const entry = this.durations.get(workflowId)?.get(path);
    if (!entry) return undefined;
    if (!entry.cached) {
      const sorted = [...entry.recent].sort((a, b) => a - b);
      entry.cached = {
        ms: entry.ewma,
        low: Math.min(quantile(sorted, this.qLow), entry.ewma),
        high: Math.max(quantile(sorted, this.qHigh), entry.ewma),
        samples: entry.samples,
      };
    }
    return entry.cached;
  }

  recordChoice(workflowId: string, path: string, choice: string): void {
    const paths = this.pathsOf(this.decisions, workflowId, path);
    const counts = { ...(paths.get(path) ?? {}) };
    for (const k of Object.keys(counts)) counts[k] = (counts[k] ?? 0) * (1 - this.alpha);
    counts[choice] = (counts[choice] ?? 0) + 1;
    paths.set(path, counts);
    this.onChange?.('choice', workflowId, path);
  }

  choices(workflowId: string, path: string): Readonly<Record<string, number>> | undefined {
    return this.decisions.get(workflowId)?.get(path);
  }

  /** What a path learned, as JSON-safe state, or `undefined` when it learned nothing (or was forgotten). */
  state(kind: HistoryKind, workflowId: string, path: string): unknown {
    if (kind === 'choice') return this.decisions.get(workflowId)?.get(path);
    const entry = this.durations.get(workflowId)?.get(path);
    return entry && { ewma: entry.ewma, samples: entry.samples, recent: entry.recent, slot: entry.slot };
  }

  /**
   * Loads a path's state (from {@link state}, read back from a store) unless this history learned that path already
   * (what it learned since is newer). Returns `false`, loading nothing, for a state that is not valid.
   */
  restore(kind: HistoryKind, workflowId: string, path: string, state: unknown): boolean {
    if (kind === 'choice') {
      if (!isWeights(state)) return false;
      if (!this.decisions.get(workflowId)?.has(path))
        this.pathsOf(this.decisions, workflowId, path).set(path, { ...state });
      return true;
    }
    if (!isDurationState(state)) return false;
    if (!this.durations.get(workflowId)?.has(path)) {
      const recent = state.recent.slice(0, this.window);
      const slot = recent.length < this.window ? 0 : state.slot % this.window;
      const entry = { ewma: state.ewma, samples: state.samples, recent, slot, cached: undefined };
      this.pathsOf(this.durations, workflowId, path).set(path, entry);
    }
    return true;
  }

  /** The paths of one workflow; past the cap, the path recorded first is forgotten. */
  private pathsOf<V>(all: Map<string, Map<string, V>>, workflowId: string, path: string): Map<string, V> {
    let paths = all.get(workflowId);
    if (!paths) {
      paths = new Map();
      all.set(workflowId, paths);
    }
    if (paths.size >= this.maxKeys && !paths.has(path)) paths.delete(paths.keys().next().value as string);
    return paths;
  }
}

const isDuration = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function isDurationState(
  value: unknown,
): value is { ewma: number; samples: number; recent: number[]; slot: number } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    isDuration(v.ewma) &&
    Number.isSafeInteger(v.samples) &&
    (v.samples as number) > 0 &&
    Array.isArray(v.recent) &&
    v.recent.length > 0 &&
    v.recent.every(isDuration) &&
    Number.isSafeInteger(v.slot) &&
    (v.slot as number) >= 0
  );
}

function isWeights(value: unknown): value is Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.entries(value).every(([k, w]) => k !== '__proto__' && isDuration(w));
}

/** The `q` quantile of sorted values, interpolated linearly. */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  const a = sorted[lo] ?? 0;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (at - lo);
}
