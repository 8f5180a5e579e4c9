/**
 * The database port and its adapters, for templates and the CLI: `openDatabase(url)` picks the adapter.
 */
export { qualifiedName, quoteIdent } from './ident.js';
export { type DatabaseTarget, openDatabase, parseTarget } from './open.js';
export { pgliteDatabase } from './pglite.js';
export type { Database, QueryResult, TransactionOptions } from './port.js';
export { postgresDatabase } from './postgres.js';
export {
  PLANTED_PROBLEMS,
  type PlantedProblem,
  SAMPLE_SLOW_QUERY,
  type SampleOptions,
  type SampleSummary,
  seedSample,
} from './sample/index.js';
