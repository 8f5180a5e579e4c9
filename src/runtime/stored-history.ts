import type { Logger } from 'pino';
import type { Clock } from '../machine/clock.js';
import { type BatchWriter, historyKey } from '../persistence/batch-writer.js';
import type { WorkflowStore } from '../persistence/types.js';
import { type DurationHistory, type HistoryKind, MemoryHistory } from '../progress/history.js';

/** A history and the promise that it has loaded what the store learned before. */
export interface LearnedHistory {
  readonly history: DurationHistory;
  /** Resolves once the store's rows are loaded (never rejects: a history that cannot load starts empty). */
  readonly loaded: Promise<void>;
}

/**
 * The engine's default history on a store: the tracker reads and records in memory (its interface is synchronous),
 * every path that learned something is written behind in the store's next group commit (once per batch, in its
 * latest state), and a new engine on the same store loads it back, so ETAs survive restarts and are shared by the
 * processes of one PostgreSQL store (last writer wins per path).
 *
 * @example
 * ```ts
 * const { history, loaded } = storedHistory(store, writer, clock, logger);
 * await loaded;
 * history.estimate('triage', 'scan');
 * ```
 */
export function storedHistory(
  store: WorkflowStore,
  writer: BatchWriter,
  clock: Clock,
  logger: Logger,
): LearnedHistory {
  if (!store.loadHistory) return { history: new MemoryHistory(), loaded: Promise.resolve() };
  const history: MemoryHistory = new MemoryHistory({}, (kind, workflow, path) => {
    void writer.learned(historyKey({ kind, workflow, path }), () => {
      const state = history.state(kind, workflow, path);
      // Forgotten since (past the history's key cap): nothing to write.
      if (state === undefined) return undefined;
      return { workflow, path, kind, state: JSON.stringify(state), updatedAt: clock.now() };
    });
  });
  const loaded = store
    .loadHistory()
    .then((rows) => {
      let skipped = 0;
      for (const row of rows)
        if (!restoreRow(history, row.kind, row.workflow, row.path, row.state)) skipped++;
      if (skipped > 0)
        logger.warn(
          { skipped },
          'learned durations skipped: stored rows that do not parse (the ETA relearns them)',
        );
    })
    .catch((error: unknown) => {
      logger.warn({ err: error }, 'learned durations could not be loaded; the ETA starts from expectedMs');
    });
  return { history, loaded };
}

function restoreRow(history: MemoryHistory, kind: HistoryKind, workflow: string, path: string, text: string) {
  try {
    return history.restore(kind, workflow, path, JSON.parse(text) as unknown);
  } catch {
    return false;
  }
}
