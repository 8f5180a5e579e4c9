// A free TCP port on 127.0.0.1, for the throwaway servers of the tests and benchmarks (redis-server.mjs,
// postgres-server.mjs). Plain JavaScript, so that bench/ runs it without a build.
import { createServer } from 'node:net';

/** Resolves to a port nothing listens on now (the OS picks it; it is free again once this returns). */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
