import { compare, each, scale } from '../harness.mjs';

const STEPS = 100;

/** Step transition overhead: a 100-step sequence of no-op agents, µs per step (time per run / 100). */
export async function stepCases({ contenders, settings }) {
  const tasks = Object.fromEntries(
    contenders.map((c) => {
      const w = c.sequence(STEPS);
      return [c.key, () => w.start()];
    }),
  );
  const results = await compare('step', tasks, settings.timing);
  return [
    {
      id: 'step',
      title: `step transition, ${STEPS}-step sequence`,
      unit: 'µs/step',
      better: 'lower',
      results: each(results, (r) => scale(r, 1000 / STEPS)),
    },
  ];
}
