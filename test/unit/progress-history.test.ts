import { describe, expect, it } from 'vitest';
import { memoryHistory } from '../../src/index.js';
import { MemoryHistory } from '../../src/progress/history.js';
import { flowMetaOf } from '../../src/progress/plan.js';
import { schedule } from '../../src/progress/range.js';

describe('MemoryHistory state, as a store keeps it', () => {
  it('round-trips what a path learned through JSON, and tells of each change', () => {
    const changes: string[] = [];
    const learned = new MemoryHistory({ window: 3 }, (kind, w, p) => changes.push(`${kind} ${w} ${p}`));
    for (const ms of [10, 20, 30, 40]) learned.record('w', 'a', ms);
    learned.recordChoice('w', 'b', 'otherwise');
    expect(changes).toEqual([...Array(4).fill('duration w a'), 'choice w b']);
    const fresh = new MemoryHistory({ window: 3 });
    const text = (kind: 'duration' | 'choice', path: string) =>
      JSON.stringify(learned.state(kind, 'w', path));
    expect(fresh.restore('duration', 'w', 'a', JSON.parse(text('duration', 'a')))).toBe(true);
    expect(fresh.restore('choice', 'w', 'b', JSON.parse(text('choice', 'b')))).toBe(true);
    expect(fresh.estimate('w', 'a')).toEqual(learned.estimate('w', 'a'));
    expect(fresh.choices('w', 'b')).toEqual({ otherwise: 1 });
    // The ring goes on where it stopped: the next duration replaces the oldest one kept.
    fresh.record('w', 'a', 50);
    learned.record('w', 'a', 50);
    expect(fresh.estimate('w', 'a')).toEqual(learned.estimate('w', 'a'));
    expect(learned.state('duration', 'w', 'nothing')).toBeUndefined();
  });

  it('keeps what it learned itself over an older stored state', () => {
    const history = new MemoryHistory();
    history.record('w', 'a', 5);
    expect(history.restore('duration', 'w', 'a', { ewma: 99, samples: 9, recent: [99], slot: 0 })).toBe(true);
    expect(history.estimate('w', 'a')?.ms).toBe(5);
  });

  it('refuses stored states that are not valid, loading nothing', () => {
    const history = new MemoryHistory();
    const bad = [
      null,
      'x',
      { ewma: -1, samples: 1, recent: [1], slot: 0 },
      { ewma: 1, samples: 0, recent: [1], slot: 0 },
      { ewma: 1, samples: 1, recent: [], slot: 0 },
      { ewma: 1, samples: 1, recent: ['1'], slot: 0 },
      { ewma: 1, samples: 1, recent: [1], slot: -1 },
    ];
    for (const state of bad) expect(history.restore('duration', 'w', 'a', state)).toBe(false);
    expect(history.estimate('w', 'a')).toBeUndefined();
    for (const state of [null, [1], { a: 'x' }, { a: Number.NaN }, JSON.parse('{"__proto__": 1}')])
      expect(history.restore('choice', 'w', 'b', state)).toBe(false);
    expect(history.choices('w', 'b')).toBeUndefined();
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });
});

describe('memoryHistory', () => {
  it('keeps an EWMA per workflow and path, with a quantile range over recent durations', () => {
    const history = memoryHistory({ alpha: 0.5, window: 5, quantiles: [0, 1] });
    expect(history.estimate('w', 'a')).toBeUndefined();
    history.record('w', 'a', 100);
    expect(history.estimate('w', 'a')).toEqual({ ms: 100, low: 100, high: 100, samples: 1 });
    history.record('w', 'a', 200);
    expect(history.estimate('w', 'a')).toEqual({ ms: 150, low: 100, high: 200, samples: 2 });
    for (const ms of [300, 300, 300, 300, 300]) history.record('w', 'a', ms);
    // The window forgot 100 and 200; the range still holds the average.
    expect(history.estimate('w', 'a')).toEqual({ ms: 295.3125, low: 295.3125, high: 300, samples: 7 });
    expect(history.estimate('other', 'a')).toBeUndefined();
  });

  it('ignores durations that are not finite non-negative numbers', () => {
    const history = memoryHistory();
    history.record('w', 'a', Number.NaN);
    history.record('w', 'a', -1);
    history.record('w', 'a', Number.POSITIVE_INFINITY);
    expect(history.estimate('w', 'a')).toBeUndefined();
  });

  it('weighs choices toward the recent ones', () => {
    const history = memoryHistory({ alpha: 0.5 });
    expect(history.choices('w', 'b')).toBeUndefined();
    history.recordChoice('w', 'b', '0');
    history.recordChoice('w', 'b', '0');
    history.recordChoice('w', 'b', 'otherwise');
    expect(history.choices('w', 'b')).toEqual({ '0': 0.75, otherwise: 1 });
  });

  it('forgets the path recorded first, per workflow, past maxKeys', () => {
    const history = memoryHistory({ maxKeys: 2 });
    history.record('w', 'a', 1);
    history.record('w', 'b', 2);
    history.record('w', 'a', 1);
    history.record('w', 'c', 3);
    history.record('other', 'a', 4);
    history.recordChoice('w', 'x', '1');
    history.recordChoice('w', 'y', '1');
    history.recordChoice('w', 'z', '1');
    expect(history.estimate('w', 'a')).toBeUndefined();
    expect(history.estimate('w', 'b')).toBeDefined();
    expect(history.estimate('w', 'c')).toBeDefined();
    expect(history.estimate('other', 'a')).toBeDefined();
    expect(history.choices('w', 'x')).toBeUndefined();
    expect(history.choices('w', 'z')).toEqual({ '1': 1 });
  });
});

describe('map scheduling', () => {
  it('places each item on the worker free first', () => {
    expect(schedule([], 0, 100, 2)).toBe(0);
    expect(schedule([], 5, 100, 2)).toBe(300);
    expect(schedule([30, 80], 3, 100, 2)).toBe(230);
    expect(schedule([30, 80, 10], 0, 100, 2)).toBe(80);
  });

  it('approximates a very large map instead of simulating it', () => {
    expect(schedule([], 100_000, 10, 4)).toBe(250_000);
    expect(schedule([500, 0, 0, 0], 100_000, 10, 4)).toBe(250_125);
  });
});

describe('step meta', () => {
  it('reads meta.flowstate, naming a state without a name by its key, and rejects anything else', () => {
    expect(flowMetaOf({ flowstate: { kind: 'step' } }, 'fetch')).toEqual({ kind: 'step', name: 'fetch' });
    expect(flowMetaOf({ flowstate: { kind: 'map', name: 'm', concurrency: 2 } }, 'x')).toMatchObject({
      name: 'm',
    });
    expect(flowMetaOf(undefined, 'x')).toBeUndefined();
    expect(flowMetaOf({ flowstate: 'step' }, 'x')).toBeUndefined();
    expect(flowMetaOf({ flowstate: { kind: 'teleport' } }, 'x')).toBeUndefined();
  });
});
