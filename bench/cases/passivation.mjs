import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./passivation-child.mjs', import.meta.url));

/**
 * Issue 17's passivation figures, Flowstate only (no contender passivates): 100,000 runs parked on an event with a
 * SQLite store and `passivate` (10,000 in quick mode) and the heap they hold; `engine.send` to a passivated run
 * (wake-up, restore, event applied); 1,000 backoff deadlines of passivated runs fired by the one scheduler (lateness
 * after the deadline); and the time a new engine on that store takes to be ready (`createEngine` + `recover()`).
 * One fresh `node --expose-gc` process.
 */
export async function passivationCases({ settings }) {
  const { parked, events, timers, backoffMs } = settings.passivation;
  const raw = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      child,
      String(parked),
      String(events),
      String(timers),
      String(backoffMs),
      // The same deadlines on runs kept in memory, for comparison: full mode only (it doubles the wait).
      settings.mode === 'full' ? '1' : '0',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  const r = JSON.parse(raw);
  const one = (v) => ({ median: v, p99: v, n: 1 });
  const n = parked.toLocaleString('en');
  return [
    {
      id: 'passivatedHeap',
      title: `heap for ${n} passivated runs (SQLite store)`,
      unit: 'MB',
      better: 'lower',
      results: { sqlite: one(r.heapMB) },
    },
    {
      id: 'passivatedWake',
      title: `wake-up on an event, ${n} passivated (send → applied)`,
      unit: 'ms',
      better: 'lower',
      results: { sqlite: r.wake },
    },
    {
      id: 'passivatedTimers',
      title: `${timers.toLocaleString('en')} due timers of passivated runs over ${Math.round(r.timersSpreadMs)} ms: lateness (${r.timersFired} fired, ${r.timersEarly} early)`,
      unit: 'ms',
      better: 'lower',
      results: { sqlite: { ...r.timers, max: r.timersMax, early: r.timersEarly } },
    },
    ...(r.timersInMemory
      ? [
          {
            id: 'timersInMemory',
            title: '  same deadlines, runs kept in memory (no passivation)',
            unit: 'ms',
            better: 'lower',
            results: { sqlite: r.timersInMemory },
          },
        ]
      : []),
    {
      id: 'passivatedReady',
      title: `ready on a store of ${r.unfinished.toLocaleString('en')} unfinished runs (createEngine + recover)`,
      unit: 'ms',
      better: 'lower',
      results: { sqlite: one(r.readyMs) },
    },
  ];
}
