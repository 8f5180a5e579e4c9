/**
 * `flowstate/store`: what a store writer needs. The stores, the {@link WorkflowStore} contract they implement (and
 * pass one contract suite for: `test/integration/store-contract.test.ts`), and the rows it reads and writes. An app
 * that only runs workflows needs none of the row types: `sqliteStore`, `postgresStore` and `memoryStore` are also
 * exported by `flowstate` itself.
 */
export { memoryStore } from './memory-store.js';
export { postgresStore } from './postgres-store.js';
export { type PruneRunsOptions, type PruneRunsResult, pruneRuns } from './prune.js';
export type { SecretsHook } from './secrets.js';
export { sqliteStore } from './sqlite-store.js';
export type {
  DueRun,
  HeldLease,
  HistoryRow,
  InboxKind,
  InboxMessage,
  InboxResult,
  JournalEntry,
  PruneOptions,
  PruneResult,
  RunCheckpoint,
  RunClaim,
  RunFilter,
  RunHead,
  RunHeadFilter,
  RunLease,
  RunRecord,
  RunStatus,
  StoreBatch,
  StoredRun,
  StoreWriteResult,
  TimerRow,
  WorkflowStore,
} from './types.js';
export { ENDED, UNFINISHED } from './types.js';
