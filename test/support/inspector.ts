import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach } from 'vitest';
import { WebSocketServer } from 'ws';

export { until } from './poll.js';

/** A websocket server on 127.0.0.1 that keeps every inspection event it receives, as the Stately inspector would. */
export async function receiver() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const events: StatelyInspectionEvent[] = [];
  server.on('connection', (socket) => socket.on('message', (data) => events.push(JSON.parse(String(data)))));
  const { port } = server.address() as { port: number };
  const close = () => {
    for (const client of server.clients) client.terminate();
    return new Promise((resolve) => server.close(resolve));
  };
  return { url: `ws://127.0.0.1:${port}`, events, close };
}

/** Cleanups run after each test, last registered first; returns the list to push onto. */
export function cleanupAfterEach(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
