import { describe, expect, it } from 'vitest';
import { waitsOf } from '../../src/runtime/deadlines.js';

const step = (path: string, phase: string, deadline?: number) => ({
  snapshot: { status: 'active', phase, input: { path }, ...(deadline === undefined ? {} : { deadline }) },
});
const timer = (deadline: number) => ({ snapshot: { status: 'active', deadline } });
const root = (children: Record<string, unknown>) => ({ status: 'active', children }) as never;

describe('whether a persisted run only waits', () => {
  it('is idle when every live actor is a backoff, an escalation waiting for a human or a wait deadline', () => {
    const waits = waitsOf(
      'r',
      root({ a: step('a', 'backoff', 10), b: step('b', 'escalated', 20), w: timer(30) }),
    );
    expect(waits.idle).toBe(true);
    expect(waits.timers).toEqual([
      { runId: 'r', stepPath: 'a', kind: 'backoff', deadline: 10 },
      { runId: 'r', stepPath: 'b', kind: 'escalation', deadline: 20 },
      { runId: 'r', stepPath: 'w', kind: 'wait', deadline: 30 },
    ]);
  });

  it('is idle with no live actor (a hand-written machine waiting for its event), and ignores ended ones', () => {
    expect(waitsOf('r', root({})).idle).toBe(true);
    expect(waitsOf('r', root({ a: { snapshot: { status: 'done', phase: 'done' } } })).idle).toBe(true);
  });

  it('is busy while an attempt or a supervisor agent runs, anywhere in the tree', () => {
    expect(waitsOf('r', root({ a: step('a', 'running'), w: timer(30) })).idle).toBe(false);
    expect(waitsOf('r', root({ a: step('a', 'supervising', 50) })).idle).toBe(false);
    const nested = root({
      child: {
        snapshot: {
          status: 'active',
          context: { pathPrefix: 'child/' },
          children: { x: step('child/x', 'running') },
        },
      },
    });
    expect(waitsOf('r', nested).idle).toBe(false);
  });

  it('is busy with an actor it does not know (a hand-written invoke of a promise)', () => {
    expect(waitsOf('r', root({ fetch: { snapshot: { status: 'active', input: {} } } })).idle).toBe(false);
  });
});
