import { type PostgresServer, startPostgresServer } from './postgres-server.mjs';

export type { PostgresServer } from './postgres-server.mjs';

/** Starts a fresh server for a test file, fsync off; `stop()` ends it and removes its directory. */
export function startPostgres(): Promise<PostgresServer> {
  return startPostgresServer({ durable: false });
}

/** A new empty database on the server, so test files do not share tables. */
export async function createDatabase(server: PostgresServer, name: string): Promise<string> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return server.url.replace(/\/postgres$/, `/${name}`);
}
