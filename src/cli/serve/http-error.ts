/** The web view's HTTP errors: answered by the app as `{ code?, error }` with their status. */

/** An error with its HTTP status, answered as `{ error }` (and `code`, when it stands for an engine's error). */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413,
    message: string,
    /** The engine's error code it stands for, when it stands for one (a 409 says why, as the engine would). */
    readonly code?: string,
  ) {
    super(message);
  }
}
