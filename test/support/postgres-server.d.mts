/** A throwaway PostgreSQL server on 127.0.0.1, run as the `postgres` user (the binaries refuse root). */
export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (`pg_ctl stop -m fast`: clients are disconnected), keeping its data for `restart()`. */
  halt(): Promise<void>;
  /** Starts the halted server again on the same port and data directory; resolves once it accepts clients. */
  restart(): Promise<void>;
  /** Terminates every backend connected to `database` (but the one asking); resolves to how many it ended. */
  terminateBackends(database: string): Promise<number>;
  stop(): Promise<void>;
}

/** Starts a fresh server in a temporary directory; `durable: false` (the default) turns fsync off. */
export function startPostgresServer(options?: { readonly durable?: boolean }): Promise<PostgresServer>;
