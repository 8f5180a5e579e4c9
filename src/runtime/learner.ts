import type { Logger } from 'pino';
import type { Clock } from '../machine/clock.js';
import type { Learner } from '../machine/learn.js';
import type { DurationHistory } from '../progress/history.js';
import { endedStateView, StepLedger } from '../progress/seed.js';
import { historyKey, type StepView } from '../progress/views.js';

/**
 * Ended map items a run keeps for a late watch, at most (its first ones): each kept view is about 0.15 KB, and a
 * map of 100,000 items would otherwise hold 15 MB until its run ends. Durations are learned from every item.
 */
const LISTED_ITEMS = 1_000;

/** The engine's learner, and what the engine tells it about runs. */
export interface EngineLearner extends Learner {
  /**
   * A watch is being set up for a run: returns the steps that ended before (for it to list), and stops keeping them
   * for that run, since the watch follows it from now on.
   */
  watched(runId: string): readonly StepView[];
  /**
   * A run ended: forgets what it kept for it, and returns the steps that ended unwatched, for a watch set up after
   * the end (the caller keeps them only as long as it keeps the run).
   */
  forget(runId: string): () => readonly StepView[];
  /** A run was restored: the steps it had ended before (from its snapshot), for a watch to list. */
  restored(runId: string, steps: readonly StepView[]): void;
}

/**
 * Records what compiled machines tell into the engine's {@link DurationHistory}, under the workflow of the run
 * (map items under `name[*]`, as the tracker reads them), and keeps the ended steps of runs nobody watches yet
 * (of map items, the first {@link LISTED_ITEMS} of a run).
 * Runs the engine does not know (a machine embedded with `engine.machineFor`) teach nothing. A history that throws
 * never fails a run: the failure is logged once and learning goes on.
 *
 * @example
 * ```ts
 * const learner = engineLearner(history, clock, logger, (runId) => engine.active.get(runId)?.definition.id);
 * ```
 */
export function engineLearner(
  history: DurationHistory,
  clock: Clock,
  logger: Logger,
  workflowOf: (runId: string) => string | undefined,
): EngineLearner {
  // Start times of maps and child workflows in progress, by run: few at a time, dropped when the run ends.
  const starts = new Map<string, Map<string, number>>();
  // Ended steps of runs nobody watches yet, created at a run's first ended step, made into views if a watch comes.
  // Packed (`StepLedger`) rather than the step actors' final snapshots, which also hold their input and attempt
  // history: kept for every ended step of every run in flight, and what a run in flight keeps alive the GC copies
  // again and again (measured: 2 KB of a 10.5 KB run with five ended steps as snapshots, 0.8 KB as objects).
  const ledgers = new Map<string, StepLedger>();
  // Map items of each such run listed so far: a map's items end by the thousand, a late watch lists the first ones.
  const itemsListed = new Map<string, number>();
  const watched = new Set<string>();
  let warned = false;
  // New views each time: a watch updates the views it is given, and a run that ended may be watched more than once.
  const views = (ledger: StepLedger | undefined): StepView[] => (ledger ? ledger.views() : []);

  const guarded = (learn: () => void) => {
    try {
      learn();
    } catch (error) {
      if (!warned) logger.warn({ err: error }, 'progress could not learn a duration; runs go on');
      warned = true;
    }
  };
  const ledgerOf = (runId: string) => {
    let ledger = ledgers.get(runId);
    if (!ledger) {
      ledger = new StepLedger();
      ledgers.set(runId, ledger);
    }
    return ledger;
  };

  return {
    started(runId, path) {
      if (workflowOf(runId) === undefined) return;
      let paths = starts.get(runId);
      if (!paths) {
        paths = new Map();
        starts.set(runId, paths);
      }
      paths.set(path, clock.now());
    },
    finished(runId, path, startedAt, step) {
      const workflow = workflowOf(runId);
      if (workflow === undefined) return;
      let from = startedAt;
      if (from === undefined) {
        const paths = starts.get(runId);
        from = paths?.get(path);
        paths?.delete(path);
        if (paths?.size === 0) starts.delete(runId);
      }
      // A map or child workflow that was running when its run was restored has no start here: it teaches nothing.
      if (from === undefined) return;
      const now = clock.now();
      const began = from;
      guarded(() => history.record(workflow, historyKey(path), now - began));
      if (step && !watched.has(runId)) ledgerOf(runId).view(endedStateView(path, step, began, now));
    },
    chose(runId, path, choice) {
      const workflow = workflowOf(runId);
      if (workflow !== undefined) guarded(() => history.recordChoice(workflow, path, choice));
    },
    stepEnded(s) {
      const runId = s.input.workflowId;
      const workflow = workflowOf(runId);
      if (workflow === undefined) return;
      const ended = s.history[s.history.length - 1]?.endedAt ?? clock.now();
      if (s.status === 'done')
        guarded(() => history.record(workflow, historyKey(s.input.path), ended - s.startedAt));
      if (watched.has(runId)) return;
      if (s.input.path.endsWith(']')) {
        const listed = itemsListed.get(runId) ?? 0;
        if (listed >= LISTED_ITEMS) return;
        itemsListed.set(runId, listed + 1);
      }
      ledgerOf(runId).step(s, ended);
    },
    restored(runId, steps) {
      if (steps.length === 0 || watched.has(runId)) return;
      const ledger = ledgerOf(runId);
      for (const view of steps) ledger.view(view);
    },
    watched(runId) {
      watched.add(runId);
      itemsListed.delete(runId);
      const ledger = ledgers.get(runId);
      ledgers.delete(runId);
      return views(ledger);
    },
    forget(runId) {
      const ledger = ledgers.get(runId);
      starts.delete(runId);
      ledgers.delete(runId);
      itemsListed.delete(runId);
      watched.delete(runId);
      return () => views(ledger);
    },
  };
}
