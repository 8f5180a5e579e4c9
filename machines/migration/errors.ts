/**
 * The migration's own failures.
 */

/** A failure the same input would hit again: not retried. */
export class MigrationError extends Error {
  readonly retryable = false;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}
