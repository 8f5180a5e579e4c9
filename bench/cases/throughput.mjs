import { compare, each, rate } from '../harness.mjs';

const STEPS = 10;

/** `inFlight` 10-step workflows started at once; one sample is the time until all of them are done. */
async function batch(contenders, budget, inFlight) {
  const tasks = Object.fromEntries(
    contenders.map((c) => {
      const w = c.sequence(STEPS);
      const run = () => {
        const all = new Array(inFlight);
        for (let i = 0; i < inFlight; i++) all[i] = w.start();
        return Promise.all(all);
      };
      return [c.key, run];
    }),
  );
  const perBatch = await compare(`throughput ${inFlight}`, tasks, budget);
  const label = inFlight.toLocaleString('en');
  const workflows = {
    id: `throughput${inFlight}`,
    title: `throughput, ${label} concurrent ${STEPS}-step workflows`,
    unit: 'workflows/s',
    better: 'higher',
    results: each(perBatch, (r) => rate(r, inFlight)),
  };
  const steps = { ...workflows, id: `steps${inFlight}`, title: '  same, steps', unit: 'steps/s' };
  steps.results = each(perBatch, (r) => rate(r, inFlight * STEPS));
  return [workflows, steps];
}

/** Throughput with 1,000 workflows in flight (and 10,000 in a full run, as issue 8 asks). */
export async function throughputCases({ contenders, settings }) {
  const metrics = await batch(contenders, settings.heavy, 1_000);
  if (settings.throughput10k) metrics.push(...(await batch(contenders, settings.huge, 10_000)));
  return metrics;
}
