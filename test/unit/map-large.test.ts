import { describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

/**
 * Issue 17: a map's cost is linear in its items and does not grow with its concurrency. Counts of work first (the
 * workflow machine's transitions, the map actor's), then a generous bound on time, which a shared machine blurs.
 */
describe('a large map', () => {
  const ITEMS = 10_000;
  const fan = (concurrency: number) =>
    workflow(`large-${concurrency}`)
      .map('m', { items: 'input', step: { agent: 'instant' }, concurrency })
      .build();

  async function measure(concurrency: number) {
    const engine = testEngine({ agents: { instant: (n: number) => n } });
    const items = Array.from({ length: ITEMS }, (_, i) => i);
    const started = performance.now();
    const run = engine.start(fan(concurrency), items);
    let machineSnapshots = 0;
    run.actor.subscribe(() => machineSnapshots++);
    let mapSnapshots = 0;
    const map = (run.actor.getSnapshot().children as Record<string, { subscribe(f: () => void): void }>).m;
    map?.subscribe(() => mapSnapshots++);
    const result = (await run.result) as { m: number[] };
    const ms = performance.now() - started;
    return { result, ms, machineSnapshots, mapSnapshots };
  }

  it(`runs ${ITEMS} instant items at concurrency 1,000 with the same work as at 10`, async () => {
    const narrow = await measure(10);
    const wide = await measure(1_000);
    for (const { result } of [narrow, wide]) {
      expect(result.m).toHaveLength(ITEMS);
      expect(result.m[ITEMS - 1]).toBe(ITEMS - 1);
      expect(result.m.every((v, i) => v === i)).toBe(true);
    }
    // The workflow machine moves only when the map starts and ends, not per item.
    expect(wide.machineSnapshots).toBe(narrow.machineSnapshots);
    expect(wide.machineSnapshots).toBeLessThan(5);
    // One map transition per item settled, whatever the concurrency.
    expect(narrow.mapSnapshots).toBe(ITEMS);
    expect(wide.mapSnapshots).toBe(ITEMS);
    // Measured about equal (see docs/performance.md); generous for a loaded machine.
    expect(wide.ms).toBeLessThan(narrow.ms * 3 + 1_000);
  }, 60_000);
});
