// The object-spread patterns of Flowstate's per-step hot path, timed in isolation (µs per call, best of 4):
//   node bench/profile/object-spread.mjs
// On Node 20 (V8 11.3), a spread followed by keys the source does not have leaves the fast clone path.
const names = Array.from({ length: 100 }, (_, i) => `s${i}`);
const base = { agent: 'noop', retry: { attempts: 1 } };
const ctx = { workflowId: 'run-1', pathPrefix: '', input: {} };
const grown = names.map((_, n) => Object.fromEntries(names.slice(0, n).map((k) => [k, null])));
const prefilled = Object.fromEntries(names.map((k) => [k, undefined]));

const variants = {
  'step input {...base, workflowId, path, input} (compile.ts)': (i) => ({
    ...base,
    workflowId: ctx.workflowId,
    path: ctx.pathPrefix + names[i],
    input: ctx.input,
  }),
  'step input {workflowId, path, input, ...base}': (i) => ({
    workflowId: ctx.workflowId,
    path: ctx.pathPrefix + names[i],
    input: ctx.input,
    ...base,
  }),
  'results {...results, [name]: v}, new key (actions.ts)': (i) => ({ ...grown[i], [names[i]]: null }),
  'results {...results, [name]: v}, key prefilled': (i) => ({ ...prefilled, [names[i]]: null }),
};

let sink;
for (const [name, f] of Object.entries(variants)) {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 4; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 200_000; i++) sink = f(i % 100);
    best = Math.min(best, ((performance.now() - t0) / 200_000) * 1000);
  }
  console.log(`${best.toFixed(3).padStart(7)} µs  ${name}`);
}
if (sink === undefined) console.log('');
