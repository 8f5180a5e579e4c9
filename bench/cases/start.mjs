import { compare, each, scale } from '../harness.mjs';

/** Only the synchronous start is timed; the run then completes outside the timed window. */
const timedStart = (w) => async () => {
  const t0 = performance.now();
  const done = w.start();
  const overriddenDuration = performance.now() - t0;
  await done;
  return { overriddenDuration };
};

/** Start of a 10-step workflow to its completion, and the start call alone (time to hand back a run). */
export async function startCases({ contenders, settings }) {
  const workloads = contenders.map((c) => [c.key, c.sequence(10)]);
  const complete = Object.fromEntries(workloads.map(([key, w]) => [key, () => w.start()]));
  const startOnly = Object.fromEntries(workloads.map(([key, w]) => [key, timedStart(w)]));
  return [
    {
      id: 'start10',
      title: '10-step workflow, start to completion',
      unit: 'µs',
      better: 'lower',
      results: each(await compare('start10', complete, settings.timing), (r) => scale(r, 1000)),
    },
    {
      id: 'startOnly',
      title: 'start() alone (time to return a run)',
      unit: 'µs',
      better: 'lower',
      results: each(await compare('startOnly', startOnly, settings.timing), (r) => scale(r, 1000)),
    },
  ];
}
