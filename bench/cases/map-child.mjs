// Run by cases/map-scale.mjs in a fresh process: one contender's map of <items> instant items at <concurrency>, run
// once to warm up and once timed, with the process's peak RSS.
// Usage: node bench/cases/map-child.mjs <contender> <items> <concurrency>
import { contender } from '../contenders.mjs';

const [key, itemsArg = '100000', concurrencyArg = '1000'] = process.argv.slice(2);
const items = Number(itemsArg);
const map = contender(key).map(items, Number(concurrencyArg));
const warm = Math.min(items, 1_000);
await contender(key).map(warm, Number(concurrencyArg)).start(); // code and inline caches are not counted
const t0 = performance.now();
const output = await map.start();
const ms = performance.now() - t0;
// Every contender's map ends with its results as `items`, in item order.
if (output?.items?.length !== items)
  throw new Error(`${key}: the map of ${items} items did not end with its ${items} results`);
process.stdout.write(JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024 }));
