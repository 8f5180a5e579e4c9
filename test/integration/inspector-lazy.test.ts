import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createNodeInspector } from '../../src/index.js';
import { cleanupAfterEach, receiver, until } from '../support/inspector.js';

/** An XState `@xstate.event` inspection event, as an actor would report it. */
const event = (type: string) =>
  ({
    type: '@xstate.event',
    actorRef: { sessionId: 'x:0' },
    rootId: 'x:0',
    event: { type },
  }) as unknown as InspectionEvent;

const cleanups = cleanupAfterEach();

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
