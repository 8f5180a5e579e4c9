/** A throwaway redis-server on 127.0.0.1 (Debian's package, installed when missing). */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Runs one command on a fresh connection (`command('FLUSHALL')`). */
  command(...words: (string | number)[]): Promise<unknown>;
  /** A crash: SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** Starts the killed server again on the same port and directory; resolves once it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a fresh server (`noeviction`; AOF unless `persistent: false`). */
export function startRedisServer(options?: { readonly persistent?: boolean }): Promise<RedisServer>;
