/**
 * The database port and its adapters, for templates and the CLI: `openDatabase(url)` picks the adapter. The sample
 * database the showcase seeds is a demo fixture, not part of this face (`src/db/sample/`).
 */
export { qualifiedName, quoteIdent } from './ident.js';
export { type DatabaseTarget, openDatabase, parseTarget } from './open.js';
export { pgliteDatabase } from './pglite.js';
export type { Database, QueryResult, TransactionOptions } from './port.js';
export { postgresDatabase } from './postgres.js';
