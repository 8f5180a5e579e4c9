// Run by cases/map-scale.mjs in a fresh process: one contender's map of <items> instant items at <concurrency>.
// With <repeat> > 1: one untimed run of the same shape (JIT, inline caches), then the median of <repeat> timed runs,
// a full GC before each. With <repeat> = 1: a small warm-up and one timed run, so the peak RSS is the map's own.
// Usage: node --expose-gc bench/cases/map-child.mjs <contender> <items> <concurrency> <repeat>
import { contender } from '../contenders.mjs';
import { collect, summarize } from '../harness.mjs';

const [key, itemsArg = '100000', concurrencyArg = '1000', repeatArg = '1'] = process.argv.slice(2);
const items = Number(itemsArg);
const concurrency = Number(concurrencyArg);
const repeat = Number(repeatArg);
const map = contender(key).map(items, concurrency);
const check = (output, count = items) => {
  // Every contender's map ends with its results as `items`, in item order.
  if (output?.items?.length !== count)
    throw new Error(`${key}: the map of ${count} items did not end with its ${count} results`);
};
if (repeat > 1) check(await map.start());
else check(await contender(key).map(1_000, concurrency).start(), 1_000);
const times = [];
for (let i = 0; i < repeat; i++) {
  collect();
  const t0 = performance.now();
  check(await map.start());
  times.push(performance.now() - t0);
}
const ms = summarize(times).median;
process.stdout.write(JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024 }));
