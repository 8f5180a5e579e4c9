import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { InspectionEvent } from 'xstate';
import { createNodeInspector } from '../../src/index.js';

/** A WebSocket server on 127.0.0.1 that keeps every message it receives, parsed. */
async function receiver() {
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

/** An XState `@xstate.event` inspection event, as an actor would report it. */
const event = (type: string) =>
  ({
    type: '@xstate.event',
    actorRef: { sessionId: 'x:0' },
    rootId: 'x:0',
    event: { type },
  }) as unknown as InspectionEvent;

const until = async (check: () => boolean, ms = 3_000) => {
  for (const started = Date.now(); !check() && Date.now() - started < ms; )
    await new Promise((r) => setTimeout(r, 10));
  return check();
};

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// createNodeInspector imports @statelyai/inspect and ws when it is first called; events come before that.
describe('createNodeInspector, before its dependencies are loaded', () => {
  it('keeps the events inspected meanwhile and delivers them in order', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const inspector = createNodeInspector({ url: target.url });
    cleanups.push(() => inspector.stop());
    for (const type of ['a', 'b', 'c']) inspector.inspect.next?.(event(type));
    expect(await inspector.flush()).toBe(true);
    expect(await until(() => target.events.length === 3)).toBe(true);
    expect(target.events.map((e) => (e.type === '@xstate.event' ? e.event.type : e.type))).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(inspector.stats).toEqual({ sent: 3, dropped: 0 });
  });

  it('keeps at most `maxBuffered` of them, the latest, counting the others as dropped', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const inspector = createNodeInspector({ url: target.url, maxBuffered: 2 });
    cleanups.push(() => inspector.stop());
    for (const type of ['a', 'b', 'c', 'd']) inspector.inspect.next?.(event(type));
    expect(inspector.stats.dropped).toBe(2);
    expect(await inspector.flush()).toBe(true);
    expect(await until(() => target.events.length === 2)).toBe(true);
    expect(target.events.map((e) => (e.type === '@xstate.event' ? e.event.type : e.type))).toEqual([
      'c',
      'd',
    ]);
  });

  it('applies the filter to them, and drops them when stopped first', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const filtered = createNodeInspector({
      url: target.url,
      filter: (e) => (e as { event?: { type?: string } }).event?.type !== 'skip-me',
    });
    cleanups.push(() => filtered.stop());
    filtered.inspect.next?.(event('skip-me'));
    filtered.inspect.next?.(event('keep-me'));
    expect(await filtered.flush()).toBe(true);
    expect(await until(() => target.events.length === 1)).toBe(true);
    expect(target.events[0]).toMatchObject({ event: { type: 'keep-me' } });

    const stopped = createNodeInspector({ url: target.url });
    stopped.inspect.next?.(event('late'));
    stopped.stop();
    // Stopped: nothing is left to send, so flush does not wait for the dependencies.
    expect(await stopped.flush(1)).toBe(true);
    expect(await until(() => stopped.stats.dropped === 1)).toBe(true);
    expect(stopped.stats.sent).toBe(0);
  });
});
