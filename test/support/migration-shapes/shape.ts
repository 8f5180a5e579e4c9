import type { Database } from '../../../src/db/port.js';

/** One migration on one starting schema, `s` being the schema's name. */
export interface Shape {
  readonly name: string;
  readonly setup: (s: string) => string[];
  readonly sql: (s: string) => string;
  /** The tables whose rows must come back as they were. */
  readonly rows: readonly string[];
  /** What must work after the revert, besides the same schema and rows. */
  readonly then?: (db: Database, s: string) => Promise<unknown>;
  /**
   * The schema to run in, made afresh for it, instead of one of its own: `public`, on every search path, where
   * PostgreSQL prints names unqualified (and `pg_get_indexdef` still qualifies the table).
   */
  readonly schema?: 'public';
  /** Dry-run on the target itself (the scratch copy has no triggers: a migration that alters one fails there). */
  readonly live?: boolean;
}

/** Shapes of one concern: those whose revert must bring everything back, and those that must now apply. */
export interface ShapeGroup {
  /** Migrations whose revert must bring back the schema and the rows exactly. */
  readonly reverted: readonly Shape[];
  /** Migrations that could never apply on such schemas (the dry run's copy or the verification got them wrong). */
  readonly applied: readonly Shape[];
}
