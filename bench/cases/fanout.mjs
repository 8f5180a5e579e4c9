import { compare, each, scale } from '../harness.mjs';

const REGIONS = 8;
const STEPS = 5;
const ITEMS = 1_000;
const CONCURRENCY = 50;

/** `{ key: () => start() }` for one workload shape across the contenders. */
const tasksOf = (contenders, make) =>
  Object.fromEntries(
    contenders.map((c) => {
      const w = make(c);
      return [c.key, () => w.start()];
    }),
  );

/** Fan-out: 8 parallel regions of 5 steps (µs per step), and a map of 1,000 items at concurrency 50 (µs per item). */
export async function fanoutCases({ contenders, settings }) {
  const parallel = await compare(
    'parallel',
    tasksOf(contenders, (c) => c.parallel(REGIONS, STEPS)),
    settings.timing,
  );
  const map = await compare(
    'map',
    tasksOf(contenders, (c) => c.map(ITEMS, CONCURRENCY)),
    settings.heavy,
  );
  return [
    {
      id: 'parallel',
      title: `parallel: ${REGIONS} regions × ${STEPS} steps`,
      unit: 'µs/step',
      better: 'lower',
      results: each(parallel, (r) => scale(r, 1000 / (REGIONS * STEPS))),
    },
    {
      id: 'map',
      title: `map: ${ITEMS.toLocaleString('en')} items, concurrency ${CONCURRENCY}`,
      unit: 'µs/item',
      better: 'lower',
      results: each(map, (r) => scale(r, 1000 / ITEMS)),
    },
  ];
}
