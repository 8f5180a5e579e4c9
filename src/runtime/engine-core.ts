import type { Logger } from 'pino';
import type { Clock } from '../machine/clock.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import type { RunRecord } from '../persistence/types.js';
import type { RunWatcher } from '../progress/runs.js';
import type { Binder } from './bind.js';
import type { Durability } from './durability.js';
import type { EngineOptions } from './engine-types.js';
import type { InboxReader } from './inbox.js';
import type { EngineLearner } from './learner.js';
import type { LeaseSettings, Ownership } from './ownership.js';
import type { RunEntry } from './run-entry.js';
import type { RunEnd } from './run-result.js';
import type { RunTable } from './run-table.js';

/** What the parts of an engine share: its settings, its runs, and the services it wired. */
export interface EngineCore {
  readonly options: EngineOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly lease: LeaseSettings;
  readonly table: RunTable;
  readonly durability: Durability | undefined;
  ownership: Ownership | undefined;
  /** The owner's side of the signal inbox (with a store). */
  inbox: InboxReader | undefined;
  readonly binder: Binder;
  readonly learner: EngineLearner;
  /** Watches runs from their start, or registers them to be watched on demand. */
  readonly watcher: RunWatcher;
  /** Step lines go to the logger from a run's first step: only then is a run watched from its start. */
  readonly watchFromStart: boolean;
  /** Without a store: the runs that ended, for `get` and `list`. */
  readonly finished: Map<string, RunRecord>;
  readonly workflows: Map<string, AnyWorkflowDefinition>;
  /** Runs that cannot be resumed here (corrupt): the adoption loop leaves them to an operator. */
  readonly unrecoverable: Set<string>;
  closed: boolean;
  /** What the engine does when a run's actor ends (see `runEnded`): each run's entry calls it. */
  readonly endRun: (entry: RunEntry) => RunEnd;
}
