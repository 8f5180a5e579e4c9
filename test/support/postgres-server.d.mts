/** A throwaway PostgreSQL server on 127.0.0.1, run as the `postgres` user (the binaries refuse root). */
export interface PostgresServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts a fresh server in a temporary directory; `durable: false` (the default) turns fsync off. */
export function startPostgresServer(options?: { readonly durable?: boolean }): Promise<PostgresServer>;
