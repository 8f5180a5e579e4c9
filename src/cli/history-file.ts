/**
 * What the CLI learned about step durations, kept between runs in a small JSON file, so that the ETA of
 * `flowstate run` and `showcase` starts from the durations of the runs before it instead of a flat default (each
 * CLI process used to start with no history). A run given `--store` uses the store's history instead (the
 * engine's default there).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type HistoryKind, MemoryHistory } from '../progress/history.js';

/** One learned path, as stored in the file. */
interface Row {
  readonly kind: HistoryKind;
  readonly workflow: string;
  readonly path: string;
  readonly state: unknown;
}

/** A history loaded from a file, and how to write back what it learned since. */
export interface FileHistory {
  readonly history: MemoryHistory;
  /** Writes the paths that learned something into the file (merged with what other processes wrote). */
  save(): void;
}

/**
 * The history file: `$FLOWSTATE_HISTORY` (`off` for none), else `flowstate/durations.json` in the user's cache
 * directory (`$XDG_CACHE_HOME`, else `~/.cache`).
 *
 * @example
 * ```ts
 * historyPath({ FLOWSTATE_HISTORY: '/tmp/d.json' }); // '/tmp/d.json'
 * ```
 */
export function historyPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = env.FLOWSTATE_HISTORY;
  if (set === 'off') return undefined;
  if (set) return set;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flowstate', 'durations.json');
}

function readRows(file: string): Row[] {
  try {
    const rows = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(rows) ? (rows as Row[]) : [];
  } catch {
    // No file yet, or one that does not parse: the ETA relearns.
    return [];
  }
}

const keyOf = (r: Pick<Row, 'kind' | 'workflow' | 'path'>) => JSON.stringify([r.kind, r.workflow, r.path]);

/**
 * Loads the history file (an empty history when there is none) and tracks what the runs learn. Never throws:
 * the history only improves an estimate, so a file that cannot be read or written is skipped.
 *
 * @example
 * ```ts
 * const learned = fileHistory(historyPath());
 * const engine = createEngine({ agents, ...(learned ? { history: learned.history } : {}) });
 * // ... runs ...
 * learned?.save();
 * ```
 */
export function fileHistory(file: string | undefined): FileHistory | undefined {
  if (file === undefined) return undefined;
  const dirty = new Map<string, Omit<Row, 'state'>>();
  const history = new MemoryHistory({}, (kind, workflow, path) =>
    dirty.set(keyOf({ kind, workflow, path }), { kind, workflow, path }),
  );
  for (const row of readRows(file)) history.restore(row.kind, row.workflow, row.path, row.state);
  return {
    history,
    save: () => {
      if (dirty.size === 0) return;
      const rows = new Map(readRows(file).map((r) => [keyOf(r), r]));
      for (const [key, row] of dirty) {
        const state = history.state(row.kind, row.workflow, row.path);
        if (state !== undefined) rows.set(key, { ...row, state });
      }
      dirty.clear();
      try {
        mkdirSync(dirname(file), { recursive: true });
        // Written aside, then renamed: a reader never sees half a file.
        const aside = `${file}.${process.pid}.tmp`;
        writeFileSync(aside, JSON.stringify([...rows.values()]));
        renameSync(aside, file);
      } catch {
        // A read-only home: the next run starts from what the file had.
      }
    },
  };
}
